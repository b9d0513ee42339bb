import { sendSlices } from '../../../../services/source/kafka/publisher';

const msg = (bytes: number) => ({ value: Buffer.alloc(bytes) });

describe('sendSlices: sends that fit a record batch', () => {
  test('cuts by count', () => {
    const slices = sendSlices(Array.from({ length: 2500 }, () => msg(10)), 1000, 1 << 20);
    expect(slices.map((s) => s.length)).toEqual([1000, 1000, 500]);
  });

  test('cuts by bytes, so two 4 MiB chunks never share a send under an 8 MiB limit', () => {
    const four = 4 * 1024 * 1024;
    const slices = sendSlices([msg(four), msg(four), msg(100), msg(four)], 1000, 8 * 1024 * 1024 - 64 * 1024);
    expect(slices.map((s) => s.map((m) => m.value.length))).toEqual([[four], [four, 100], [four]]);
  });

  test('keeps every message, in order, and never returns an empty send', () => {
    const input = Array.from({ length: 50 }, (_, i) => ({ value: Buffer.alloc((i * 7919) % 300) }));
    const slices = sendSlices(input, 7, 1000);
    expect(slices.flat()).toEqual(input);
    expect(slices.every((s) => s.length > 0 && s.length <= 7)).toBe(true);
    expect(slices.every((s) => s.length === 1 || s.reduce((n, m) => n + m.value.length, 0) <= 1000)).toBe(true);
  });
});
