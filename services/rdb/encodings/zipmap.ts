import { BufferReader } from './buffer-reader';

/**
 * Zipmap (redis src/zipmap.c, hashes in Redis < 2.6):
 *
 *   <zmlen u8> (<len> <field> <len> <free u8> <value> <free bytes>)* <0xFF>
 *   len := 1 byte if < 254, else 0xFE + u32 (little endian on every real build)
 */
export function decodeZipmap(blob: Buffer, what = 'zipmap'): Array<[Buffer, Buffer]> {
  const r = new BufferReader(blob, 0, what);
  r.u8('zipmap length');
  const out: Array<[Buffer, Buffer]> = [];
  const readLen = (detail: string): number | undefined => {
    const b = r.u8(detail);
    if (b === 0xff) return undefined;
    if (b === 0xfe) return r.fixed(4, detail).readUInt32LE(0);
    if (b === 0xfd) throw r.corrupt(`invalid zipmap length byte 0xfd for ${detail}`, r.pos - 1);
    return b;
  };
  for (;;) {
    const flen = readLen('zipmap field length');
    if (flen === undefined) break;
    const field = r.fixed(flen, 'zipmap field');
    const vlen = readLen('zipmap value length');
    if (vlen === undefined) throw r.corrupt('zipmap ends between a field and its value');
    const free = r.u8('zipmap free byte count');
    const value = r.fixed(vlen, 'zipmap value');
    r.fixed(free, 'zipmap free bytes');
    out.push([field, value]);
  }
  r.end('zipmap end marker');
  return out;
}
