import { TandemError } from '../../../services/shared/errors';
import { ByteWindow } from '../../../services/rdb/byte-window';
import { crc64, Crc64 } from '../../../services/rdb/crc64';
import { BufferReader } from '../../../services/rdb/encodings/buffer-reader';
import { decodeIntset } from '../../../services/rdb/encodings/intset';
import { decodeListpack } from '../../../services/rdb/encodings/listpack';
import { decodeZiplist } from '../../../services/rdb/encodings/ziplist';
import { decodeZipmap } from '../../../services/rdb/encodings/zipmap';
import { formatG17, fpconvDtoa } from '../../../services/rdb/format-double';
import { lzfDecompress } from '../../../services/rdb/lzf';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('crc64 (Jones, reflected, as Redis)', () => {
  it('matches the reference vector', () => {
    expect(crc64(Buffer.from('123456789'))).toBe(0xe9c6d914c4b8d9can);
  });
  it('is the same whatever the split and alignment', () => {
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff));
    const whole = crc64(data);
    for (const split of [1, 3, 8, 13, 500]) {
      const c = new Crc64();
      for (let i = 0; i < data.length; i += split) c.update(data.subarray(i, i + split));
      expect(c.value()).toBe(whole);
    }
    expect(new Crc64().update(Buffer.from('123456789')).digest().readBigUInt64LE(0)).toBe(0xe9c6d914c4b8d9can);
  });
});

describe('lzf', () => {
  it('decodes literals and overlapping back references', () => {
    // literal "abc" (ctrl 2), then backref len 7+2=9? use len=4 (ctrl (4-2)<<5 | 0), offset 2 -> copies from 3 back
    const out = lzfDecompress(Buffer.from([0x02, 0x61, 0x62, 0x63, (4 - 2) << 5, 0x02]), 7);
    expect(out.toString()).toBe('abcabca');
  });
  it('decodes a long back reference (len byte)', () => {
    const out = lzfDecompress(Buffer.from([0x00, 0x78, 0xe0, 20, 0x00]), 1 + 7 + 20 + 2);
    expect(out.toString()).toBe('x'.repeat(30));
  });
  it('rejects a reference before the start and a length mismatch', () => {
    expect(() => lzfDecompress(Buffer.from([0x00, 0x61, 0x20, 0x05]), 4)).toThrow(TandemError);
    expect(() => lzfDecompress(Buffer.from([0x01, 0x61, 0x62]), 3)).toThrow(/decompressed to 2 bytes, header says 3/);
  });
});

describe('length encodings', () => {
  const lens: Array<[string, number]> = [
    ['05', 5],
    ['4100', 256],
    ['7fff', 16383],
    ['80 00010000', 65536],
    ['81 0000000100000000', 2 ** 32],
  ];
  it.each(lens)('reads %s as %d, in the window and in a buffer', (bytes, want) => {
    const w = new ByteWindow();
    w.push(hex(bytes));
    w.refill();
    expect(w.tryLen('test')).toBe(want);
    expect(new BufferReader(hex(bytes)).len('test')).toBe(want);
  });
  it('waits for the rest of a split length instead of misreading it', () => {
    const w = new ByteWindow();
    w.push(hex('80 0001'));
    w.refill();
    expect(w.tryLen('test')).toBeUndefined();
    expect(w.pos).toBe(0);
  });
  it('reads int-encoded strings as decimal text and rejects bad encodings with the offset', () => {
    expect(new BufferReader(hex('c0 fb')).string('s').toString()).toBe('-5');
    expect(new BufferReader(hex('c1 3930')).string('s').toString()).toBe('12345');
    expect(new BufferReader(hex('c2 ffffffff')).string('s').toString()).toBe('-1');
    const r = new BufferReader(hex('c4'));
    expect(() => r.string('value')).toThrow('payload corrupt at byte 0: expected a string encoding for value, got 0xC4');
  });
  it('keeps exact 64-bit values (stream entries_read = -1)', () => {
    expect(new BufferReader(hex('81 ffffffffffffffff')).lenBig('x')).toBe(0xffffffffffffffffn);
  });
});

describe('listpack', () => {
  it('decodes small ints, 13-bit ints, strings and int64', () => {
    // entries: 7-bit 5; 13-bit -3 (0xdf 0xfd); str "ab"; int64 2^40
    const body = Buffer.concat([hex('05 01'), hex('dffd 02'), hex('82 6162 03'), hex('f4 0000000000010000 09'), hex('ff')]);
    const header = Buffer.alloc(6);
    header.writeUInt32LE(body.length + 6, 0);
    header.writeUInt16LE(4, 4);
    expect(decodeListpack(Buffer.concat([header, body]))).toEqual([5, -3, Buffer.from('ab'), 2 ** 40]);
  });
  it('rejects a wrong total size', () => {
    expect(() => decodeListpack(hex('0a000000 0000 ff'))).toThrow(/header says 10 bytes/);
  });
});

describe('ziplist', () => {
  it('decodes strings, immediates and ints', () => {
    // entries: "a" ; imm 7 (0xf8) ; int16 300
    const body = Buffer.concat([hex('00 01 61'), hex('03 f8'), hex('02 c0 2c01'), hex('ff')]);
    const header = Buffer.alloc(10);
    header.writeUInt32LE(body.length + 10, 0);
    header.writeUInt32LE(0, 4);
    header.writeUInt16LE(3, 8);
    expect(decodeZiplist(Buffer.concat([header, body]))).toEqual([Buffer.from('a'), 7, 300]);
  });
});

describe('intset', () => {
  it('decodes 16/64-bit encodings', () => {
    expect(decodeIntset(hex('02000000 02000000 0100 ffff'))).toEqual([1, -1]);
    expect(decodeIntset(hex('08000000 01000000 ffffffffffffff7f'))).toEqual([2n ** 63n - 1n]);
    expect(() => decodeIntset(hex('03000000 00000000'))).toThrow(/invalid intset encoding 3/);
  });
});

describe('zipmap', () => {
  it('decodes field/value pairs with free bytes', () => {
    expect(decodeZipmap(hex('02 01 61 02 01 7879 00 01 62 01 00 7a ff'))).toEqual([
      [Buffer.from('a'), Buffer.from('xy')],
      [Buffer.from('b'), Buffer.from('z')],
    ]);
  });
});

describe('score formatting', () => {
  it('prints like %.17g for Redis <= 7.0', () => {
    expect(formatG17(0.1)).toBe('0.10000000000000001');
    expect(formatG17(1e-7)).toBe('9.9999999999999995e-08');
    expect(formatG17(-3)).toBe('-3');
    expect(formatG17(Infinity)).toBe('inf');
  });
  it('prints like fpconv_dtoa (Grisu2) for Redis 7.2+', () => {
    expect(fpconvDtoa(-498645.87187703972)).toBe('-4.986458718770397e+5');
    expect(fpconvDtoa(-433263.12300435413)).toBe('-4.3326312300435413e+5'); // Grisu2 is not always shortest
    expect(fpconvDtoa(2.5)).toBe('2.5');
    expect(fpconvDtoa(-Infinity)).toBe('-inf');
    for (const x of [0.1, 1e21, 5e-324, 1.7976931348623157e308, 123.456]) expect(parseFloat(fpconvDtoa(x))).toBe(x);
  });
});
