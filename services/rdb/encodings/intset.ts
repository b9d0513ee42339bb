import { BufferReader } from './buffer-reader';
import { fromBigInt } from './packed-value';

/**
 * Intset (redis src/intset.c):
 *
 *   <encoding u32le: 2, 4 or 8> <length u32le> <length integers of `encoding` bytes, little endian, sorted>
 */
export function decodeIntset(blob: Buffer, what = 'intset'): Array<number | bigint> {
  const r = new BufferReader(blob, 0, what);
  r.need(8, 'intset header');
  const enc = blob.readUInt32LE(0);
  const length = blob.readUInt32LE(4);
  if (enc !== 2 && enc !== 4 && enc !== 8) throw r.corrupt(`invalid intset encoding ${enc}`, 0);
  if (8 + enc * length !== blob.length) throw r.corrupt(`header says ${length} x ${enc}-byte integers, blob has ${blob.length} bytes`, 4);
  const out: Array<number | bigint> = [];
  for (let i = 0, p = 8; i < length; i++, p += enc) {
    out.push(enc === 2 ? blob.readInt16LE(p) : enc === 4 ? blob.readInt32LE(p) : fromBigInt(blob.readBigInt64LE(p)));
  }
  return out;
}
