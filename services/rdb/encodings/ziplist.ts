import { BufferReader } from './buffer-reader';
import { fromBigInt, type PackedValue } from './packed-value';

/**
 * Ziplist (redis src/ziplist.c, written by Redis < 7.0):
 *
 *   <zlbytes u32le> <zltail u32le> <zllen u16le> <entry>* <0xFF>
 *   entry := <prevlen: 1 byte if < 254, else 0xFE + u32le> <encoding> <data>
 *   encoding:
 *     00pppppp                  string, 6-bit length
 *     01pppppp qqqqqqqq         string, 14-bit length (big endian)
 *     10000000 <u32be len>      string, 32-bit length
 *     11000000 / 11010000 / 11100000   int16 / int32 / int64 (little endian)
 *     11110000                  int24
 *     11111110                  int8
 *     1111xxxx                  immediate 0..12 (xxxx - 1), xxxx in 0001..1101
 *
 * zllen is 65535 when the count did not fit; the entries are then counted.
 */
export function decodeZiplist(blob: Buffer, what = 'ziplist'): PackedValue[] {
  const r = new BufferReader(blob, 0, what);
  r.need(11, 'ziplist header');
  const zlbytes = blob.readUInt32LE(0);
  if (zlbytes !== blob.length) throw r.corrupt(`header says ${zlbytes} bytes, blob has ${blob.length}`, 0);
  const declared = blob.readUInt16LE(8);
  r.pos = 10;
  const out: PackedValue[] = [];
  for (;;) {
    const start = r.pos;
    const first = r.u8('ziplist prevlen');
    if (first === 0xff) break;
    if (first === 0xfe) r.fixed(4, 'ziplist 5-byte prevlen');
    const enc = r.u8('ziplist entry encoding');
    let value: PackedValue;
    switch (enc >> 6) {
      case 0:
        value = r.fixed(enc & 0x3f, 'ziplist 6-bit string');
        break;
      case 1:
        value = r.fixed(((enc & 0x3f) << 8) | r.u8('ziplist 14-bit length'), 'ziplist 14-bit string');
        break;
      case 2:
        if (enc !== 0x80) throw r.corrupt(`invalid ziplist string encoding 0x${enc.toString(16)}`, start);
        value = r.fixed(r.fixed(4, 'ziplist 32-bit length').readUInt32BE(0), 'ziplist 32-bit string');
        break;
      default:
        if (enc === 0xc0) value = r.fixed(2, 'ziplist int16').readInt16LE(0);
        else if (enc === 0xd0) value = r.fixed(4, 'ziplist int32').readInt32LE(0);
        else if (enc === 0xe0) value = fromBigInt(r.fixed(8, 'ziplist int64').readBigInt64LE(0));
        else if (enc === 0xf0) value = r.fixed(3, 'ziplist int24').readIntLE(0, 3);
        else if (enc === 0xfe) value = r.fixed(1, 'ziplist int8').readInt8(0);
        else if (enc >= 0xf1 && enc <= 0xfd) value = (enc & 0x0f) - 1;
        else throw r.corrupt(`invalid ziplist entry encoding 0x${enc.toString(16)}`, start);
    }
    out.push(value);
  }
  if (r.pos !== blob.length) throw r.corrupt('bytes after the ziplist end marker');
  if (declared !== 65535 && declared !== out.length) throw r.corrupt(`header says ${declared} entries, found ${out.length}`, 8);
  return out;
}
