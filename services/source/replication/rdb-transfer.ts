/**
 * Receives the RDB of a full resync and hands it to the RdbSink, chunk by
 * chunk, awaiting each write (so a slow sink pauses the socket).
 *
 *   transfer = *( "\n" ) ( disk / diskless )
 *   disk     = "$" len CRLF <len bytes>                 ; no trailing CRLF
 *   diskless = "$EOF:" mark CRLF <rdb bytes> mark       ; mark = 40 random bytes
 *
 * Disk: the length is known, and the command stream may follow in the same
 * TCP read, so the bytes after the RDB are handed back to the reader.
 * Diskless: the length is unknown; the RDB ends when the last 40 bytes received
 * equal the mark. That test is only sound because the master sends nothing
 * after the mark until our first REPLCONF ACK (redis/src/replication.c
 * updateSlavesWaitingBgsave: "Detecting such final EOF string is much simpler
 * … if no more data is sent after such final EOF", repl_start_cmd_stream_on_ack).
 * The mark itself is never written to the sink.
 */
import { TandemError } from '../../shared/errors';
import type { SocketReader } from './socket-reader';
import type { RdbSink } from './types';

export const RDB_EOF_MARK_SIZE = 40;

export interface RdbTransferResult {
  /** Bytes of RDB written to the sink (mark excluded). */
  size: number;
  diskless: boolean;
}

export async function receiveRdb(
  reader: SocketReader,
  sink: RdbSink,
  info: { replid: string; offset: number },
  endpoint: string,
): Promise<RdbTransferResult> {
  let line = '';
  while (line.length === 0) line = await reader.readLine('RDB preamble ($<len> or $EOF:<mark>)');

  if (line.startsWith('$EOF:')) {
    const mark = Buffer.from(line.slice(5), 'latin1');
    if (mark.length !== RDB_EOF_MARK_SIZE) {
      throw new TandemError('REPL_HANDSHAKE', `master ${endpoint}: diskless RDB mark of ${mark.length} bytes, expected 40`);
    }
    await sink.begin({ ...info, size: null });
    const size = await receiveUntilMark(reader, sink, mark);
    await sink.end();
    return { size, diskless: true };
  }

  const size = line.startsWith('$') ? Number(line.slice(1)) : NaN;
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new TandemError('REPL_HANDSHAKE', `master ${endpoint}: expected the RDB preamble, got ${JSON.stringify(line.slice(0, 200))}`);
  }
  await sink.begin({ ...info, size });
  let left = size;
  while (left > 0) {
    const chunk = await reader.next();
    if (chunk.length > left) {
      reader.unshift(chunk.subarray(left));
      await sink.write(chunk.subarray(0, left));
      left = 0;
    } else {
      await sink.write(chunk);
      left -= chunk.length;
    }
  }
  await sink.end();
  return { size, diskless: false };
}

/** Writes everything before `mark`; holds back the last 40 bytes until more arrive. */
async function receiveUntilMark(reader: SocketReader, sink: RdbSink, mark: Buffer): Promise<number> {
  const m = mark.length;
  let tail: Buffer = Buffer.alloc(0);
  let size = 0;
  const emit = async (bytes: Buffer): Promise<void> => {
    if (bytes.length === 0) return;
    size += bytes.length;
    await sink.write(bytes);
  };
  for (;;) {
    const chunk = await reader.next();
    if (chunk.length >= m) {
      const last = chunk.subarray(chunk.length - m);
      await emit(tail);
      await emit(chunk.subarray(0, chunk.length - m));
      if (last.equals(mark)) return size;
      tail = last;
    } else {
      const joined = Buffer.concat([tail, chunk]);
      const cut = Math.max(0, joined.length - m);
      await emit(joined.subarray(0, cut));
      tail = joined.subarray(cut);
      if (tail.length === m && tail.equals(mark)) return size;
    }
  }
}
