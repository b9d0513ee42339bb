/**
 * Canonical RESP2 multibulk, the one encoding of commands in Tandem: what a
 * replica sends its master, what the sink pipelines to a target, what
 * `tandem replay --out` writes for `redis-cli --pipe`.
 *
 *   command = "*" argc CRLF argc*( "$" len CRLF bytes CRLF )
 */
export type Arg = Buffer | string;

const CRLF = Buffer.from('\r\n');

export function encodeCommand(argv: readonly Arg[]): Buffer {
  const out = new RespBuffer(commandBytes(argv));
  out.command(argv);
  return out.finish();
}

/** Byte length of a command's canonical encoding (what it adds to the replication offset). */
export function encodedLength(argv: readonly Buffer[]): number {
  return commandBytes(argv);
}

function argLength(a: Arg): number {
  return typeof a === 'string' ? Buffer.byteLength(a) : a.length;
}

function digits(n: number): number {
  return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : String(n).length;
}

export function commandBytes(argv: readonly Arg[]): number {
  let n = 3 + digits(argv.length);
  for (const a of argv) {
    const len = argLength(a);
    n += 5 + digits(len) + len;
  }
  return n;
}

/**
 * Writes many commands into one buffer, for one socket write per pipeline:
 * sized up front by the caller (commandBytes), grown if it was too small.
 */
export class RespBuffer {
  private buf: Buffer;
  private at = 0;

  constructor(sizeHint: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, sizeHint));
  }

  command(argv: readonly Arg[]): void {
    this.ensure(commandBytes(argv));
    this.header(0x2a, argv.length);
    for (const a of argv) {
      if (typeof a === 'string') {
        this.header(0x24, Buffer.byteLength(a));
        this.at += this.buf.write(a, this.at);
      } else {
        this.header(0x24, a.length);
        this.at += a.copy(this.buf, this.at);
      }
      this.at += CRLF.copy(this.buf, this.at);
    }
  }

  /** The encoded bytes (a view of the internal buffer). */
  finish(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  private header(prefix: number, n: number): void {
    this.buf[this.at++] = prefix;
    this.at += this.buf.write(String(n), this.at, 'latin1');
    this.buf[this.at++] = 0x0d;
    this.buf[this.at++] = 0x0a;
  }

  private ensure(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }
}
