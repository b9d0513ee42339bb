import { Crc64 } from '../../../services/rdb/crc64';

/*
 * Writers for the encodings no fixture server writes any more (zipmap,
 * ziplist, intset, quicklist v1, RDB <= 9 files), built from Redis's own
 * grammars (ziplist.c, zipmap.c, intset.c, rdb.c, lzf_c.c). They are
 * independent of the decoders under test: they share no code with them.
 *
 * Used by old-encodings.test.ts (grammar tests) and by
 * test/fixtures/rdb/captured/capture-old-encodings.ts, which RESTOREs their
 * output into a real redis-server and records what the server says: the
 * captured bytes, not these builders, are what captured-old-encodings.test.ts
 * trusts.
 */

/** A ziplist / zipmap element: a JS number or bigint is written as a ziplist integer, anything else as a string. */
export type Element = string | Buffer | number | bigint;

const bytes = (e: string | Buffer): Buffer => (Buffer.isBuffer(e) ? e : Buffer.from(e, 'utf8'));

/** rdbSaveLen: 6-bit, 14-bit (big endian), 32-bit (0x80 + u32 big endian) or 64-bit (0x81 + u64 big endian). */
export function rdbLen(n: number): Buffer {
  if (n < 1 << 6) return Buffer.from([n]);
  if (n < 1 << 14) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  if (n <= 0xffffffff) {
    const b = Buffer.alloc(5);
    b[0] = 0x80;
    b.writeUInt32BE(n, 1);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = 0x81;
  b.writeBigUInt64BE(BigInt(n), 1);
  return b;
}

/** rdbSaveRawString without compression: <len><bytes>. */
export function rdbString(s: string | Buffer): Buffer {
  const b = bytes(s);
  return Buffer.concat([rdbLen(b.length), b]);
}

/** rdbSaveLongLongAsStringObject: an integer string as RDB_ENC_INT8/16/32 (0xC0/0xC1/0xC2). */
export function rdbIntString(n: number): Buffer {
  if (n >= -128 && n <= 127) return Buffer.from([0xc0, n & 0xff]);
  if (n >= -32768 && n <= 32767) {
    const b = Buffer.alloc(3);
    b[0] = 0xc1;
    b.writeInt16LE(n, 1);
    return b;
  }
  const b = Buffer.alloc(5);
  b[0] = 0xc2;
  b.writeInt32LE(n, 1);
  return b;
}

/** rdbSaveLzfStringObject: 0xC3 <clen> <ulen> <LZF data>. */
export function rdbLzfString(s: string | Buffer): Buffer {
  const b = bytes(s);
  const c = lzfCompress(b);
  return Buffer.concat([Buffer.from([0xc3]), rdbLen(c.length), rdbLen(b.length), c]);
}

/**
 * LZF compression (the format of lzf_c.c / lzf_d.c): literal runs of up to 32
 * bytes, back references of 3 to 264 bytes up to 8192 bytes back, found with a
 * table of the last position of each 3-byte sequence. Not byte-identical to
 * lzf_c.c's output (nor does it need to be: any valid stream decompresses).
 */
export function lzfCompress(input: Buffer): Buffer {
  const out: number[] = [];
  let lit: number[] = [];
  const flush = (): void => {
    for (let i = 0; i < lit.length; i += 32) {
      const run = lit.slice(i, i + 32);
      out.push(run.length - 1, ...run);
    }
    lit = [];
  };
  const last = new Map<number, number>();
  let i = 0;
  while (i < input.length) {
    if (i + 2 < input.length) {
      const h = (input[i] << 16) | (input[i + 1] << 8) | input[i + 2];
      const ref = last.get(h);
      last.set(h, i);
      if (ref !== undefined && i - ref - 1 < 8192) {
        let len = 3;
        const max = Math.min(264, input.length - i);
        while (len < max && input[ref + len] === input[i + len]) len++;
        flush();
        const off = i - ref - 1;
        const l = len - 2;
        if (l < 7) out.push((l << 5) | (off >> 8), off & 0xff);
        else out.push((7 << 5) | (off >> 8), l - 7, off & 0xff);
        i += len;
        continue;
      }
    }
    lit.push(input[i++]);
  }
  flush();
  return Buffer.from(out);
}

/** A RESTORE payload: <body = type byte + value> <rdb version u16le> <crc64 le of all that>. */
export function payload(body: Buffer, version = 9): Buffer {
  const v = Buffer.alloc(2);
  v.writeUInt16LE(version, 0);
  const crc = new Crc64().update(body).update(v).digest();
  return Buffer.concat([body, v, crc]);
}

/** <type byte> <value parts...> */
export const value = (type: number, ...parts: Buffer[]): Buffer => Buffer.concat([Buffer.from([type]), ...parts]);

/** ziplist.c zipStoreEntryEncoding + data: the smallest integer encoding that fits, else a string. */
function ziplistEntryBody(e: Element): Buffer {
  if (typeof e === 'number' || typeof e === 'bigint') {
    if (typeof e === 'number' && !Number.isSafeInteger(e)) throw new Error(`ziplist integer expected, got ${e}`);
    const v = BigInt(e);
    if (v >= 0n && v <= 12n) return Buffer.from([0xf1 + Number(v)]);
    if (v >= -128n && v <= 127n) return Buffer.from([0xfe, Number(v) & 0xff]);
    const fits = (bits: number): boolean => v >= -(1n << BigInt(bits - 1)) && v < 1n << BigInt(bits - 1);
    if (fits(16)) {
      const b = Buffer.alloc(3);
      b[0] = 0xc0;
      b.writeInt16LE(Number(v), 1);
      return b;
    }
    if (fits(24)) {
      const b = Buffer.alloc(4);
      b[0] = 0xf0;
      b.writeIntLE(Number(v), 1, 3);
      return b;
    }
    if (fits(32)) {
      const b = Buffer.alloc(5);
      b[0] = 0xd0;
      b.writeInt32LE(Number(v), 1);
      return b;
    }
    const b = Buffer.alloc(9);
    b[0] = 0xe0;
    b.writeBigInt64LE(v, 1);
    return b;
  }
  const s = bytes(e);
  if (s.length <= 0x3f) return Buffer.concat([Buffer.from([s.length]), s]);
  if (s.length <= 0x3fff) return Buffer.concat([Buffer.from([0x40 | (s.length >> 8), s.length & 0xff]), s]);
  const h = Buffer.alloc(5);
  h[0] = 0x80;
  h.writeUInt32BE(s.length, 1);
  return Buffer.concat([h, s]);
}

/**
 * A ziplist as ziplist.c lays it out: <zlbytes u32le> <zltail u32le: offset of
 * the last entry> <zllen u16le, 65535 if more> entries <0xFF>, each entry
 * <prevlen: 1 byte, or 0xFE + u32le from 254> <encoding> <data>.
 */
export function ziplist(entries: Element[]): Buffer {
  const parts: Buffer[] = [];
  let prevlen = 0;
  let offset = 10;
  let tail = 10;
  for (const e of entries) {
    const body = ziplistEntryBody(e);
    let pl: Buffer;
    if (prevlen < 254) pl = Buffer.from([prevlen]);
    else {
      pl = Buffer.alloc(5);
      pl[0] = 0xfe;
      pl.writeUInt32LE(prevlen, 1);
    }
    const entry = Buffer.concat([pl, body]);
    tail = offset;
    offset += entry.length;
    prevlen = entry.length;
    parts.push(entry);
  }
  const header = Buffer.alloc(10);
  header.writeUInt32LE(offset + 1, 0);
  header.writeUInt32LE(tail, 4);
  header.writeUInt16LE(Math.min(entries.length, 65535), 8);
  return Buffer.concat([header, ...parts, Buffer.from([0xff])]);
}

/** zipmap.c length: 1 byte below 254, else 0xFE + u32 (little endian). */
function zipmapLen(n: number): Buffer {
  if (n < 254) return Buffer.from([n]);
  const b = Buffer.alloc(5);
  b[0] = 0xfe;
  b.writeUInt32LE(n, 1);
  return b;
}

/**
 * A zipmap (hashes in Redis < 2.6): <zmlen u8, 254 if unknown> (<len> field <len> <free> value <free bytes>)* <0xFF>.
 * `free[i]` is the unused space after value i (zipmap kept up to 4 bytes after an update shrank a value).
 */
export function zipmap(pairs: Array<[string | Buffer, string | Buffer]>, free: number[] = []): Buffer {
  const parts: Buffer[] = [Buffer.from([Math.min(pairs.length, 254)])];
  pairs.forEach(([f, v], i) => {
    const fb = bytes(f);
    const vb = bytes(v);
    const fr = free[i] ?? 0;
    parts.push(zipmapLen(fb.length), fb, zipmapLen(vb.length), Buffer.from([fr]), vb, Buffer.alloc(fr, 0x2a));
  });
  parts.push(Buffer.from([0xff]));
  return Buffer.concat(parts);
}

/** An intset (intset.c): <encoding u32le: 2, 4 or 8> <length u32le> <sorted integers, little endian>. */
export function intset(values: Array<number | bigint>): Buffer {
  const sorted = [...new Set(values.map((v) => BigInt(v)))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const fits = (bits: number): boolean => sorted.every((v) => v >= -(1n << BigInt(bits - 1)) && v < 1n << BigInt(bits - 1));
  const enc = fits(16) ? 2 : fits(32) ? 4 : 8;
  const b = Buffer.alloc(8 + enc * sorted.length);
  b.writeUInt32LE(enc, 0);
  b.writeUInt32LE(sorted.length, 4);
  sorted.forEach((v, i) => {
    if (enc === 2) b.writeInt16LE(Number(v), 8 + 2 * i);
    else if (enc === 4) b.writeInt32LE(Number(v), 8 + 4 * i);
    else b.writeBigInt64LE(v, 8 + 8 * i);
  });
  return b;
}

/** rdbSaveDoubleValue (RDB_TYPE_ZSET): <u8 len> <ASCII>, or 253 nan, 254 +inf, 255 -inf. */
export function rdbDoubleString(score: string): Buffer {
  if (score === 'inf' || score === '+inf') return Buffer.from([254]);
  if (score === '-inf') return Buffer.from([255]);
  if (score === 'nan') return Buffer.from([253]);
  return Buffer.concat([Buffer.from([score.length]), Buffer.from(score, 'latin1')]);
}

/** rdbSaveBinaryDoubleValue (RDB_TYPE_ZSET_2): 8 bytes, little endian. */
export function binaryDouble(d: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(d, 0);
  return b;
}

/** One key of an RDB file, with its optional opcodes. `expireMs` uses EXPIRETIME_MS (252), `expireSec` EXPIRETIME (253). */
export interface RdbFileKey {
  key: string | Buffer;
  /** The value as in a payload body: <type byte><value>. */
  body: Buffer;
  expireMs?: number;
  expireSec?: number;
  idle?: number;
  freq?: number;
}

/** A whole RDB file: "REDIS" + 4-digit version, AUX fields, per db SELECTDB/RESIZEDB and keys, EOF, CRC64. */
export function rdbFile(version: number, aux: Array<[string, string | number]>, dbs: Array<{ db: number; keys: RdbFileKey[] }>): Buffer {
  const parts: Buffer[] = [Buffer.from(`REDIS${String(version).padStart(4, '0')}`, 'latin1')];
  for (const [k, v] of aux) parts.push(Buffer.from([0xfa]), rdbString(k), typeof v === 'number' ? rdbIntString(v) : rdbString(v));
  for (const { db, keys } of dbs) {
    parts.push(Buffer.from([0xfe]), rdbLen(db));
    const expires = keys.filter((k) => k.expireMs !== undefined || k.expireSec !== undefined).length;
    parts.push(Buffer.from([0xfb]), rdbLen(keys.length), rdbLen(expires));
    for (const k of keys) {
      if (k.expireMs !== undefined) {
        const b = Buffer.alloc(9);
        b[0] = 0xfc;
        b.writeBigInt64LE(BigInt(k.expireMs), 1);
        parts.push(b);
      }
      if (k.expireSec !== undefined) {
        const b = Buffer.alloc(5);
        b[0] = 0xfd;
        b.writeUInt32LE(k.expireSec, 1);
        parts.push(b);
      }
      if (k.idle !== undefined) parts.push(Buffer.from([0xf8]), rdbLen(k.idle));
      if (k.freq !== undefined) parts.push(Buffer.from([0xf9, k.freq]));
      parts.push(k.body.subarray(0, 1), rdbString(k.key), k.body.subarray(1));
    }
  }
  parts.push(Buffer.from([0xff]));
  const body = Buffer.concat(parts);
  return Buffer.concat([body, new Crc64().update(body).digest()]);
}
