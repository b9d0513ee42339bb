import { MarkerCache, isApplied } from '../../../services/sink/apply/marker-cache';
import { TandemError } from '../../../services/shared/errors';

describe('marker skip logic', () => {
  test('no marker: nothing was applied', () => {
    expect(isApplied(null, 3, 0n, 0, 'x')).toBe(false);
  });
  test('events at or below the marker were applied; above it were not', () => {
    const m = { partition: 3, offset: 100n, index: 4 };
    expect(isApplied(m, 3, 99n, 9, 'x')).toBe(true);
    expect(isApplied(m, 3, 100n, 0, 'x')).toBe(true);
    expect(isApplied(m, 3, 100n, 4, 'x')).toBe(true);
    expect(isApplied(m, 3, 100n, 5, 'x')).toBe(false);
    expect(isApplied(m, 3, 101n, 0, 'x')).toBe(false);
  });
  test('a marker without an index (written for a one-event v1 record) covers its whole record', () => {
    const m = { partition: 3, offset: 100n };
    expect(isApplied(m, 3, 100n, 0, 'x')).toBe(true);
    expect(isApplied(m, 3, 100n, 7, 'x')).toBe(true);
    expect(isApplied(m, 3, 101n, 0, 'x')).toBe(false);
  });
  test('offsets compare exactly beyond 2^53', () => {
    const m = { partition: 0, offset: 9007199254740993n };
    expect(isApplied(m, 0, 9007199254740992n, 0, 'x')).toBe(true);
    expect(isApplied(m, 0, 9007199254740994n, 0, 'x')).toBe(false);
  });
  test('a marker of another partition stops the sink (partition count changed)', () => {
    expect(() => isApplied({ partition: 2, offset: 5n }, 3, 10n, 0, 'slot 1')).toThrow(TandemError);
  });
  test('the cache reads a marker once, then serves and updates it', async () => {
    const reads: string[] = [];
    const cache = new MarkerCache(async (slot, origin) => {
      reads.push(`${slot}/${origin}`);
      return slot === 1 ? Buffer.from('3:41:2') : null;
    });
    expect(await cache.get(1, 'a')).toEqual({ partition: 3, offset: 41n, index: 2, raw: '3:41:2' });
    expect(await cache.get(1, 'a')).toEqual({ partition: 3, offset: 41n, index: 2, raw: '3:41:2' });
    expect(await cache.get(2, 'a')).toBeNull();
    expect(await cache.get(2, 'a')).toBeNull();
    expect(reads).toEqual(['1/a', '2/a']);
    cache.set(1, 'a', { partition: 3, offset: 50n, index: 0 });
    expect(await cache.get(1, 'a')).toEqual({ partition: 3, offset: 50n, index: 0, raw: '3:50:0' });
    cache.invalidate(1, 'a');
    expect(await cache.get(1, 'a')).toEqual({ partition: 3, offset: 41n, index: 2, raw: '3:41:2' });
    cache.clear();
    await cache.get(2, 'a');
    expect(reads).toEqual(['1/a', '2/a', '1/a', '2/a']);
  });
  test('the cache keeps a marker\'s exact text (the guard compares it on the server): a value without an index stays one', async () => {
    const cache = new MarkerCache(async () => Buffer.from('3:41'));
    expect(await cache.get(1, 'a')).toEqual({ partition: 3, offset: 41n, raw: '3:41' });
  });
  test('a malformed marker is an error, never "no marker"', async () => {
    const cache = new MarkerCache(async () => 'garbage');
    await expect(cache.get(1, 'a')).rejects.toThrow(/not <partition>:<offset>/);
  });
});
