import { TandemError } from '../../shared/errors';
import { lzfDecompress } from '../lzf';
import { hex } from '../rdb-errors';
import { RDB_14BITLEN, RDB_32BITLEN, RDB_64BITLEN, RDB_6BITLEN, RDB_ENC_INT16, RDB_ENC_INT32, RDB_ENC_INT8, RDB_ENC_LZF, RDB_ENCVAL } from '../opcodes';

/**
 * A bounds-checked reader over one complete buffer (a RESTORE payload or a
 * listpack/ziplist blob). Used by the value decoders, never by the streaming
 * parser. Every error names what was being read and the offset inside `what`.
 */
export class BufferReader {
  constructor(
    readonly buf: Buffer,
    public pos = 0,
    /** Name of the buffer in error messages, e.g. "payload" or "listpack". */
    readonly what = 'payload',
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  corrupt(detail: string, at = this.pos): TandemError {
    return new TandemError('RDB_CORRUPT', `${this.what} corrupt at byte ${at}: ${detail}`);
  }

  need(n: number, detail: string): void {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw new TandemError(
        'RDB_CORRUPT',
        `${this.what} truncated at byte ${this.buf.length} while reading ${detail} (${n} bytes needed at byte ${this.pos})`,
      );
    }
  }

  u8(detail: string): number {
    this.need(1, detail);
    return this.buf[this.pos++];
  }

  fixed(n: number, detail: string): Buffer {
    this.need(n, detail);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** rdbLoadMillisecondTime: 8 bytes little endian. */
  millis(detail: string): number {
    this.need(8, detail);
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return Number(v);
  }

  /** rdbLoadBinaryDoubleValue: an IEEE 754 double, little endian. */
  binaryDouble(detail: string): number {
    this.need(8, detail);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A length (see ByteWindow.tryLen for the grammar), exact as a BigInt. */
  lenBig(detail: string): bigint {
    const at = this.pos;
    const b = this.u8(detail);
    switch (b >> 6) {
      case RDB_6BITLEN:
        return BigInt(b & 0x3f);
      case RDB_14BITLEN:
        return BigInt(((b & 0x3f) << 8) | this.u8(detail));
      default:
        if (b === RDB_32BITLEN) return BigInt(this.fixed(4, detail).readUInt32BE(0));
        if (b === RDB_64BITLEN) return this.fixed(8, detail).readBigUInt64BE(0);
        throw this.corrupt(`expected a length encoding for ${detail}, got ${hex(b)}`, at);
    }
  }

  /** A length that must fit a JS number and, being a count or size, the remaining input. */
  len(detail: string): number {
    const at = this.pos;
    const v = this.lenBig(detail);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.corrupt(`length ${v} for ${detail} is impossibly large`, at);
    return Number(v);
  }

  /** A count of items that each take at least one byte: bounded by the remaining input. */
  count(detail: string): number {
    const at = this.pos;
    const n = this.len(detail);
    if (n > this.remaining) throw this.corrupt(`${detail} count ${n} exceeds the ${this.remaining} bytes left`, at);
    return n;
  }

  /** rdbGenericLoadStringObject: plain, int-encoded (as its decimal text) or LZF. */
  string(detail: string): Buffer {
    const at = this.pos;
    this.need(1, detail);
    const b = this.buf[this.pos];
    if (b >> 6 !== RDB_ENCVAL) return this.fixed(this.len(detail), detail);
    this.pos++;
    const enc = b & 0x3f;
    switch (enc) {
      case RDB_ENC_INT8:
        return Buffer.from(String(this.fixed(1, detail).readInt8(0)));
      case RDB_ENC_INT16:
        return Buffer.from(String(this.fixed(2, detail).readInt16LE(0)));
      case RDB_ENC_INT32:
        return Buffer.from(String(this.fixed(4, detail).readInt32LE(0)));
      case RDB_ENC_LZF: {
        const clen = this.len(`${detail} (LZF compressed length)`);
        const ulen = this.len(`${detail} (LZF length)`);
        const compressed = this.fixed(clen, detail);
        // ulen is bounded by what LZF can expand clen bytes to (about 256x for long runs).
        if (ulen > clen * 264 + 64) throw this.corrupt(`LZF length ${ulen} impossible for ${clen} compressed bytes`, at);
        try {
          return lzfDecompress(compressed, ulen);
        } catch (err) {
          throw TandemError.wrap('RDB_CORRUPT', `${this.what} byte ${at}, ${detail}`, err);
        }
      }
      default:
        throw this.corrupt(`expected a string encoding for ${detail}, got ${hex(b)}`, at);
    }
  }

  /** rdbLoadDoubleValue (RDB_TYPE_ZSET): 1-byte length then ASCII; 253 nan, 254 +inf, 255 -inf. */
  doubleString(detail: string): number {
    const n = this.u8(detail);
    if (n === 253) return NaN;
    if (n === 254) return Infinity;
    if (n === 255) return -Infinity;
    return parseRedisDouble(this.fixed(n, detail).toString('latin1'));
  }

  end(detail: string): void {
    if (this.pos !== this.buf.length) throw this.corrupt(`${this.buf.length - this.pos} unexpected bytes after ${detail}`);
  }
}

/** strtod as Redis uses it for scores: accepts inf / -inf / +inf / nan besides numbers. */
export function parseRedisDouble(text: string): number {
  const t = text.toLowerCase();
  if (t === 'inf' || t === '+inf' || t === 'infinity' || t === '+infinity') return Infinity;
  if (t === '-inf' || t === '-infinity') return -Infinity;
  if (t === 'nan' || t === '-nan') return NaN;
  const v = Number(text);
  if (text.trim() === '' || Number.isNaN(v)) throw new TandemError('RDB_CORRUPT', `not a number: ${JSON.stringify(text)}`);
  return v;
}
