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
  return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : String(n).length;
}

/**
 * The encoding of a command's first arguments, for a command sent many
 * times with the same head: `argc` is the whole command's argument count,
 * and the rest follows with RespBuffer.bulk.
 */
export function encodePrefix(argc: number, head: readonly Arg[]): Buffer {
  const full = encodeCommand(head);
  const rest = full.subarray(full.indexOf(CRLF) + 2);
  return Buffer.concat([Buffer.from(`*${argc}\r\n`), rest]);
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

  /** Appends bytes already encoded (a constant prefix of a command, see encodePrefix). */
  raw(bytes: Buffer): void {
    this.ensure(bytes.length);
    this.at += bytes.copy(this.buf, this.at);
  }

  /** Appends one bulk string: the arguments that follow an encodePrefix. */
  bulk(a: Arg): void {
    const len = argLength(a);
    this.ensure(5 + digits(len) + len);
    this.header(0x24, len);
    this.at += typeof a === 'string' ? this.buf.write(a, this.at) : a.copy(this.buf, this.at);
    this.buf[this.at++] = 0x0d;
    this.buf[this.at++] = 0x0a;
  }

  /** The encoded bytes (a view of the internal buffer). */
  finish(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  private header(prefix: number, n: number): void {
    const buf = this.buf;
    buf[this.at++] = prefix;
    if (n < 10) {
      buf[this.at++] = 0x30 + n;
    } else {
      const end = (this.at += digits(n));
      for (let i = end - 1; n > 0; i--, n = Math.floor(n / 10)) buf[i] = 0x30 + (n % 10);
    }
    buf[this.at++] = 0x0d;
    buf[this.at++] = 0x0a;
  }

  private ensure(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }
}
