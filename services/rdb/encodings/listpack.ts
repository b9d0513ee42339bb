import { BufferReader } from './buffer-reader';
import { fromBigInt, type PackedValue } from './packed-value';

/**
 * Listpack (redis src/listpack.c):
 *
 *   <total-bytes u32le> <num-elements u16le> <entry>* <0xFF>
 *   entry := <encoding+data> <backlen: 1-5 bytes, length of encoding+data>
 *   encoding:
 *     0xxxxxxx                      7-bit unsigned int
 *     10xxxxxx <data>               string, 6-bit length
 *     110xxxxx yyyyyyyy             13-bit signed int
 *     1110xxxx yyyyyyyy <data>      string, 12-bit length
 *     11110000 <u32le len> <data>   string, 32-bit length
 *     11110001/2/3/4 <2/3/4/8 B>    int16 / int24 / int32 / int64, little endian
 *     11111111                      end of listpack
 *
 * num-elements is 65535 when the count did not fit; the entries are then counted.
 */
export function decodeListpack(blob: Buffer, what = 'listpack'): PackedValue[] {
  const r = new BufferReader(blob, 0, what);
  r.need(7, 'listpack header');
  const totalBytes = blob.readUInt32LE(0);
  if (totalBytes !== blob.length) throw r.corrupt(`header says ${totalBytes} bytes, blob has ${blob.length}`, 0);
  const declared = blob.readUInt16LE(4);
  r.pos = 6;
  const out: PackedValue[] = [];
  for (;;) {
    const start = r.pos;
    const b = r.u8('listpack entry encoding');
    let value: PackedValue;
    if (b === 0xff) break;
    if ((b & 0x80) === 0) {
      value = b & 0x7f;
    } else if ((b & 0xc0) === 0x80) {
      value = r.fixed(b & 0x3f, 'listpack 6-bit string');
    } else if ((b & 0xe0) === 0xc0) {
      const v = ((b & 0x1f) << 8) | r.u8('listpack 13-bit int');
      value = v >= 1 << 12 ? v - (1 << 13) : v;
    } else if ((b & 0xf0) === 0xe0) {
      value = r.fixed(((b & 0x0f) << 8) | r.u8('listpack 12-bit string length'), 'listpack 12-bit string');
    } else {
      switch (b) {
        case 0xf0:
          value = r.fixed(r.fixed(4, 'listpack 32-bit string length').readUInt32LE(0), 'listpack 32-bit string');
          break;
        case 0xf1:
          value = r.fixed(2, 'listpack int16').readInt16LE(0);
          break;
        case 0xf2:
          value = r.fixed(3, 'listpack int24').readIntLE(0, 3);
          break;
        case 0xf3:
          value = r.fixed(4, 'listpack int32').readInt32LE(0);
          break;
        case 0xf4:
          value = fromBigInt(r.fixed(8, 'listpack int64').readBigInt64LE(0));
          break;
        default:
          throw r.corrupt(`invalid listpack entry encoding 0x${b.toString(16)}`, start);
      }
    }
    const entryLen = r.pos - start;
    const backlenSize = entryLen < 128 ? 1 : entryLen < 16384 ? 2 : entryLen < 2097152 ? 3 : entryLen < 268435456 ? 4 : 5;
    r.need(backlenSize, 'listpack entry backlen');
    r.pos += backlenSize;
    out.push(value);
  }
  if (r.pos !== blob.length) throw r.corrupt('bytes after the listpack end marker');
  if (declared !== 65535 && declared !== out.length) {
    throw r.corrupt(`header says ${declared} elements, found ${out.length}`, 4);
  }
  return out;
}
