/**
 * Pull-based reading of the master's socket. Nothing is read from the socket
 * until the link asks for it: while the consumer is busy, Node stops reading
 * once its small readable buffer is full, the kernel's receive window fills and
 * TCP pushes back to the master. That is the whole backpressure mechanism.
 *
 * Lines (handshake replies, the FULLRESYNC line, the RDB preamble) end with LF;
 * a trailing CR is stripped. A bare "\n" — the keepalive a master sends while
 * it prepares the RDB (redis/src/replication.c replicationCron: "newline to
 * replicas waiting for BGSAVE") — reads as an empty line.
 */
import type { Readable } from 'node:stream';
import { TandemError, errorMessage } from '../../shared/errors';

const EMPTY = Buffer.alloc(0);
const LF = 0x0a;
const MAX_LINE = 64 * 1024;

export class SocketReader {
  private buffered: Buffer = EMPTY;
  private readonly iterator: AsyncIterator<Buffer>;
  private waitingSinceMs = 0;
  bytesRead = 0;

  constructor(
    socket: Readable,
    private readonly endpoint: string,
    private readonly onBytes?: (n: number) => void,
  ) {
    this.iterator = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** How long the link has been blocked waiting for the master's bytes (0 when not waiting). */
  waitingForMs(now = Date.now()): number {
    return this.waitingSinceMs === 0 ? 0 : now - this.waitingSinceMs;
  }

  /** The next bytes: what is already buffered, else the next socket chunk. Throws REPL_LINK_LOST at end of stream. */
  async next(): Promise<Buffer> {
    if (this.buffered.length > 0) {
      const out = this.buffered;
      this.buffered = EMPTY;
      return out;
    }
    return this.pull();
  }

  /** Returns bytes taken by next() but not used, to be read again first. */
  unshift(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.buffered = this.buffered.length === 0 ? bytes : Buffer.concat([bytes, this.buffered]);
  }

  /** Reads one line, without its LF (and CR). `what` names the expected reply for errors. */
  async readLine(what: string): Promise<string> {
    for (;;) {
      const lf = this.buffered.indexOf(LF);
      if (lf >= 0) {
        const end = lf > 0 && this.buffered[lf - 1] === 0x0d ? lf - 1 : lf;
        const line = this.buffered.toString('latin1', 0, end);
        this.buffered = this.buffered.subarray(lf + 1);
        return line;
      }
      if (this.buffered.length > MAX_LINE) {
        throw new TandemError('REPL_HANDSHAKE', `master ${this.endpoint}: ${what} reply longer than ${MAX_LINE} bytes`);
      }
      const chunk = await this.pull(what);
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    }
  }

  private async pull(what = 'replication stream'): Promise<Buffer> {
    this.waitingSinceMs = Date.now();
    let result: IteratorResult<Buffer>;
    try {
      result = await this.iterator.next();
    } catch (err) {
      if (err instanceof TandemError) throw err;
      throw new TandemError(
        'REPL_LINK_LOST',
        `link to master ${this.endpoint} lost while waiting for ${what}: ${errorMessage(err)}`,
        { cause: err },
      );
    } finally {
      this.waitingSinceMs = 0;
    }
    if (result.done) {
      throw new TandemError('REPL_LINK_LOST', `master ${this.endpoint} closed the connection while we waited for ${what}`);
    }
    this.bytesRead += result.value.length;
    this.onBytes?.(result.value.length);
    return result.value;
  }
}
