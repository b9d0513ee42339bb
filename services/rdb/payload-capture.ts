import type { CaptureSink, Walk } from './byte-window';
import { Crc64 } from './crc64';
import type { RdbKeyEvent, RdbKeyHeader } from './events';

/**
 * Collects one key's RESTORE payload as it streams past: the type byte, the
 * value bytes exactly as in the file, then the DUMP trailer
 *
 *   <2 bytes: RDB version, little endian> <8 bytes: CRC64 of everything before, little endian>
 *
 * (cluster.c / rdb.c createDumpPayload). The CRC is computed incrementally, so
 * a payload is never re-read. Below `inlineLimit` the parts are joined into one
 * `key` event; above it the capture switches to `key-begin` / `key-chunk` /
 * `key-end` events and holds at most one input chunk of payload.
 */
export class PayloadCapture implements CaptureSink {
  private parts: Buffer[] = [];
  private bytes = 0;
  private emitted = 0;
  private streaming = false;
  private crc = new Crc64();
  private header: RdbKeyHeader | undefined;

  constructor(private readonly inlineLimit: number) {}

  begin(header: RdbKeyHeader): void {
    this.header = header;
    this.parts = [];
    this.bytes = 0;
    this.emitted = 0;
    this.streaming = false;
    this.crc = new Crc64();
    this.captured(Buffer.from([header.rdbType]));
  }

  captured(part: Buffer): void {
    this.crc.update(part);
    this.parts.push(part);
    this.bytes += part.length;
  }

  *drain(): Walk {
    if (!this.streaming && this.bytes <= this.inlineLimit) return;
    yield* this.flushChunks();
  }

  private *flushChunks(): Walk {
    const header = this.header as RdbKeyHeader;
    if (!this.streaming) {
      this.streaming = true;
      yield { ...header, kind: 'key-begin' };
    }
    const parts = this.parts;
    this.parts = [];
    this.bytes = 0;
    for (const data of parts) {
      this.emitted += data.length;
      yield { kind: 'key-chunk', data };
    }
  }

  /** Appends the DUMP trailer and yields the key (or the last chunk and key-end). */
  *finish(rdbVersion: number): Walk {
    const header = this.header as RdbKeyHeader;
    const version = Buffer.from([rdbVersion & 0xff, (rdbVersion >> 8) & 0xff]);
    this.crc.update(version);
    const trailer = Buffer.concat([version, this.crc.digest()]);
    if (!this.streaming && this.bytes + trailer.length <= this.inlineLimit) {
      this.parts.push(trailer);
      const payload = Buffer.concat(this.parts);
      this.parts = [];
      this.header = undefined;
      // Built field by field: spreading the header here was the parser's top cost per small key.
      const ev: RdbKeyEvent = {
        kind: 'key',
        db: header.db,
        key: header.key,
        type: header.type,
        rdbType: header.rdbType,
        expireAt: header.expireAt,
        offset: header.offset,
        payload,
      };
      if (header.idle !== undefined) ev.idle = header.idle;
      if (header.freq !== undefined) ev.freq = header.freq;
      yield ev;
      return;
    }
    this.parts.push(trailer);
    yield* this.flushChunks();
    this.header = undefined;
    yield { ...header, kind: 'key-end', payloadBytes: this.emitted };
  }
}
