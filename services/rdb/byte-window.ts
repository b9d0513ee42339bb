import { Crc64 } from './crc64';
import type { RdbEvent } from './events';
import { hex, rdbCorrupt, rdbTruncated } from './rdb-errors';
import { RDB_14BITLEN, RDB_32BITLEN, RDB_64BITLEN, RDB_6BITLEN, RDB_ENC_INT16, RDB_ENC_INT32, RDB_ENC_INT8, RDB_ENC_LZF, RDB_ENCVAL } from './opcodes';

/** Yielded by the parser's generator when it needs more input. */
export const NEED_INPUT: unique symbol = Symbol('rdb-need-input');

/** What the parser's generators yield: a request for input, or an event. */
export type Yielded = typeof NEED_INPUT | RdbEvent;
export type Walk<T = void> = Generator<Yielded, T, void>;

/** Sink for captured payload bytes; the parser turns overflow into key-chunk events. */
export interface CaptureSink {
  /** Called with bytes that left the window while a key's value was being captured. */
  captured(part: Buffer): void;
  /** Yields key-begin / key-chunk events once the captured bytes outgrow the inline bound. */
  drain(): Walk;
}

/**
 * The parser's view of the input: the bytes received but not yet consumed,
 * plus the absolute offset of the first one. It never holds more than the
 * latest pushed chunk(s) plus a leftover of at most a few dozen bytes (a
 * length or string header split across chunks), because every multi-byte read
 * that can be large (string bodies) is consumed piecewise.
 *
 * It also keeps two running CRC64s without a second pass: the file checksum
 * over every consumed byte, and (via the capture sink) the payload checksum
 * over the bytes of the key being captured.
 *
 * Reads come in two flavours. `try*` methods are synchronous: they consume and
 * return a value only when all of its bytes are present, else return
 * undefined / false and consume nothing. Callers fall back to a generator
 * (`*more`) that yields NEED_INPUT, so hot loops create no generator per item.
 */
export class ByteWindow {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  /** Absolute offset of buf[0] in the RDB stream. */
  base = 0;
  ended = false;
  private incoming: Buffer[] = [];
  private incomingBytes = 0;
  readonly fileCrc = new Crc64();
  private crcPos = 0;
  private sink: CaptureSink | undefined;
  private capPos = 0;

  // Result registers of tryStringHeader (avoid allocating an object per string).
  hdrKind: 0 | 1 | 2 = 0; // 0 plain, 1 integer, 2 LZF
  hdrBody = 0; // plain length or LZF compressed length
  hdrULen = 0; // LZF uncompressed length
  hdrInt = 0; // integer value of an int-encoded string

  get offset(): number {
    return this.base + this.pos;
  }

  get received(): number {
    return this.base + this.buf.length + this.incomingBytes;
  }

  avail(): number {
    return this.buf.length - this.pos;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.incoming.push(chunk);
    this.incomingBytes += chunk.length;
  }

  hasIncoming(): boolean {
    return this.incoming.length > 0;
  }

  /** Starts capturing consumed bytes into `sink` from the current position. */
  startCapture(sink: CaptureSink): void {
    this.sink = sink;
    this.capPos = this.pos;
  }

  /** Hands the captured bytes still in the window to the sink and stops capturing. */
  stopCapture(): void {
    this.flushCapture();
    this.sink = undefined;
  }

  /** Folds consumed bytes into the file CRC (done lazily, once per byte). */
  flushCrc(): void {
    if (this.pos > this.crcPos) {
      this.fileCrc.update(this.buf, this.crcPos, this.pos);
      this.crcPos = this.pos;
    }
  }

  private flushCapture(): void {
    if (this.sink && this.pos > this.capPos) {
      this.sink.captured(this.buf.subarray(this.capPos, this.pos));
      this.capPos = this.pos;
    }
  }

  /** Replaces the window with leftover + incoming chunks. */
  refill(): void {
    this.flushCrc();
    this.flushCapture();
    const leftover = this.buf.subarray(this.pos);
    const parts = leftover.length > 0 ? [leftover, ...this.incoming] : this.incoming;
    const next = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    this.base += this.pos;
    this.buf = next;
    this.pos = 0;
    this.crcPos = 0;
    this.capPos = 0;
    this.incoming = [];
    this.incomingBytes = 0;
  }

  /**
   * Makes more bytes available: yields NEED_INPUT until a chunk arrives, or
   * throws "truncated" once the input has ended.
   */
  *more(what: string): Walk {
    while (this.incoming.length === 0) {
      if (this.ended) throw rdbTruncated(this.base + this.buf.length, what);
      yield NEED_INPUT;
    }
    this.refill();
    if (this.sink !== undefined) yield* this.sink.drain();
  }

  /** Ensures at least n bytes are in the window (n small: fixed-size fields). */
  *ensure(n: number, what: string): Walk {
    while (this.buf.length - this.pos < n) yield* this.more(what);
  }

  /** Consumes n bytes, piecewise, never holding more than one chunk. */
  *skip(n: number, what: string): Walk {
    let left = n;
    for (;;) {
      const take = Math.min(left, this.buf.length - this.pos);
      this.pos += take;
      left -= take;
      if (left === 0) return;
      yield* this.more(what);
    }
  }

  /** Reads n bytes into a fresh buffer (callers bound n before calling). */
  *read(n: number, what: string): Walk<Buffer> {
    if (this.buf.length - this.pos >= n) {
      const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
      this.pos += n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    for (;;) {
      const take = Math.min(n - filled, this.buf.length - this.pos);
      this.buf.copy(out, filled, this.pos, this.pos + take);
      this.pos += take;
      filled += take;
      if (filled === n) return out;
      yield* this.more(what);
    }
  }

  /**
   * Length encoding (rdb.c rdbLoadLenByRef):
   *   00xxxxxx                 6-bit length
   *   01xxxxxx xxxxxxxx        14-bit length, big endian
   *   10000000 <4 bytes BE>    32-bit length
   *   10000001 <8 bytes BE>    64-bit length (returned as a possibly inexact number)
   *   11xxxxxx                 not a length: a special string encoding (rejected here)
   */
  tryLen(what: string): number | undefined {
    const buf = this.buf;
    const p = this.pos;
    if (p >= buf.length) return undefined;
    const b = buf[p];
    const kind = b >> 6;
    if (kind === RDB_6BITLEN) {
      this.pos = p + 1;
      return b & 0x3f;
    }
    if (kind === RDB_14BITLEN) {
      if (p + 2 > buf.length) return undefined;
      this.pos = p + 2;
      return ((b & 0x3f) << 8) | buf[p + 1];
    }
    if (b === RDB_32BITLEN) {
      if (p + 5 > buf.length) return undefined;
      this.pos = p + 5;
      return buf.readUInt32BE(p + 1);
    }
    if (b === RDB_64BITLEN) {
      if (p + 9 > buf.length) return undefined;
      this.pos = p + 9;
      return buf.readUInt32BE(p + 1) * 0x100000000 + buf.readUInt32BE(p + 5);
    }
    throw rdbCorrupt(this.base + p, `expected a length encoding for ${what}, got ${hex(b)}`);
  }

  *len(what: string): Walk<number> {
    for (;;) {
      const v = this.tryLen(what);
      if (v !== undefined) return v;
      yield* this.more(what);
    }
  }

  /** A length, exact as a BigInt (module ids, stream IDs). */
  *lenBig(what: string): Walk<bigint> {
    yield* this.ensure(1, what);
    const b = this.buf[this.pos];
    if (b === RDB_64BITLEN) {
      yield* this.ensure(9, what);
      const v = this.buf.readBigUInt64BE(this.pos + 1);
      this.pos += 9;
      return v;
    }
    return BigInt(yield* this.len(what));
  }

  /**
   * String header (rdb.c rdbGenericLoadStringObject): a length, or 11xxxxxx
   * with xxxxxx = 0 int8, 1 int16, 2 int32 (little endian), 3 LZF followed by
   * <compressed len><uncompressed len>. Sets the hdr* registers.
   */
  tryStringHeader(what: string): boolean {
    const buf = this.buf;
    const p = this.pos;
    if (p >= buf.length) return false;
    const b = buf[p];
    if (b >> 6 !== RDB_ENCVAL) {
      const n = this.tryLen(what);
      if (n === undefined) return false;
      this.hdrKind = 0;
      this.hdrBody = n;
      return true;
    }
    const enc = b & 0x3f;
    if (enc === RDB_ENC_INT8 || enc === RDB_ENC_INT16 || enc === RDB_ENC_INT32) {
      const size = enc === RDB_ENC_INT8 ? 1 : enc === RDB_ENC_INT16 ? 2 : 4;
      if (p + 1 + size > buf.length) return false;
      this.hdrInt = size === 1 ? buf.readInt8(p + 1) : size === 2 ? buf.readInt16LE(p + 1) : buf.readInt32LE(p + 1);
      this.hdrKind = 1;
      this.hdrBody = 0;
      this.pos = p + 1 + size;
      return true;
    }
    if (enc === RDB_ENC_LZF) {
      this.pos = p + 1;
      const clen = this.tryLen(`${what} (LZF compressed length)`);
      const ulen = clen === undefined ? undefined : this.tryLen(`${what} (LZF uncompressed length)`);
      if (clen === undefined || ulen === undefined) {
        this.pos = p;
        return false;
      }
      if (ulen === 0 || clen === 0) throw rdbCorrupt(this.base + p, `LZF string for ${what} with compressed length ${clen} and length ${ulen}`);
      this.hdrKind = 2;
      this.hdrBody = clen;
      this.hdrULen = ulen;
      return true;
    }
    throw rdbCorrupt(this.base + p, `expected a string encoding for ${what}, got ${hex(b)}`);
  }

  /** Skips a whole string when it is all in the window; else consumes nothing. */
  trySkipString(what: string): boolean {
    const start = this.pos;
    if (!this.tryStringHeader(what)) return false;
    if (this.buf.length - this.pos < this.hdrBody) {
      this.pos = start;
      return false;
    }
    this.pos += this.hdrBody;
    return true;
  }

  *skipString(what: string): Walk {
    if (this.trySkipString(what)) return;
    while (!this.tryStringHeader(what)) yield* this.more(what);
    yield* this.skip(this.hdrBody, what);
  }
}
