import type { RdbEvent } from './events';
import { RdbParser, type RdbParserOptions } from './parser';

/**
 * Parses an RDB from an async byte source, pulling a chunk only when the
 * consumer asks for the next event: a slow consumer slows the reads.
 * Bytes after the RDB's end are ignored here; the replication link uses
 * RdbParser directly and takes them with remainder().
 */
export async function* parseRdb(source: AsyncIterable<Buffer | Uint8Array>, opts: RdbParserOptions = {}): AsyncGenerator<RdbEvent, void, void> {
  const parser = new RdbParser(opts);
  for await (const chunk of source) {
    parser.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    for (let ev = parser.next(); ev !== undefined; ev = parser.next()) yield ev;
    if (parser.done) return;
  }
  parser.end();
  for (let ev = parser.next(); ev !== undefined; ev = parser.next()) yield ev;
}
