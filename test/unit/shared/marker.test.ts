import {
  formatMarkerValue,
  isCoveredBy,
  isMarkerKey,
  isReservedKey,
  isValidDcName,
  markerKey,
  parseMarkerKey,
  parseMarkerValue,
  RESERVED_PREFIX,
} from '../../../services/shared/marker';
import { keySlot, SLOT_COUNT } from '../../../services/shared/slot';
import { slotTag } from '../../../services/shared/slot-tags';

describe('anti-loop marker key', () => {
  it('lives in the slot it is built for, for all 16384 slots, and parses back', () => {
    const wrong: number[] = [];
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      const key = markerKey(slot, 'dc-a');
      const parsed = parseMarkerKey(key);
      if (keySlot(key) !== slot || parsed?.slot !== slot || parsed.tag !== slotTag(slot) || parsed.origin !== 'dc-a') wrong.push(slot);
    }
    expect(wrong).toEqual([]);
  });

  it('has the documented shape', () => {
    expect(markerKey(0, 'a')).toBe(`__tandem:{${slotTag(0)}}:o:a`);
    expect(RESERVED_PREFIX).toBe('__tandem:');
  });

  it('parses from Buffers as from strings', () => {
    const key = markerKey(4242, 'east_1');
    expect(parseMarkerKey(Buffer.from(key))).toEqual(parseMarkerKey(key));
    expect(isMarkerKey(Buffer.from(key))).toBe(true);
  });

  it('rejects look-alikes', () => {
    for (const key of [
      '__tandem:{}:o:a', // empty tag
      '__tandem:{abcd}:o:a', // tag too long
      '__tandem:{ab}:o:', // no origin
      '__tandem:{ab}:x:a',
      '__tandem:{ab}:o:a b',
      '__tandem:{ab}:o:a:extra',
      '__TANDEM:{ab}:o:a',
      'user:{ab}:o:a',
      '__tandem:other',
    ]) {
      expect(parseMarkerKey(key)).toBeUndefined();
    }
  });

  it('tells reserved keys by prefix, bytes or string', () => {
    expect(isReservedKey('__tandem:anything')).toBe(true);
    expect(isReservedKey(Buffer.from('__tandem:'))).toBe(true);
    expect(isReservedKey(Buffer.from('__tandem'))).toBe(false);
    expect(isReservedKey(Buffer.from('__tandex:abc'))).toBe(false);
    // Argument views of a larger buffer (as the parsers hand them out) are compared from their own start.
    const stream = Buffer.from('$3\r\nSET\r\n$16\r\n__tandem:{a}:o:b\r\n$6\r\n_user:\r\n');
    const at = (text: string) => stream.subarray(stream.indexOf(text), stream.indexOf(text) + text.length);
    expect(isReservedKey(at('__tandem:{a}:o:b'))).toBe(true);
    expect(isReservedKey(at('_user:'))).toBe(false);
    expect(isReservedKey(at('SET'))).toBe(false);
    expect(isReservedKey('user:1')).toBe(false);
  });

  it('refuses DC names that would break the key grammar', () => {
    expect(isValidDcName('us-east_1')).toBe(true);
    for (const bad of ['', 'a b', 'a}b', 'a:b', 'x'.repeat(65)]) {
      expect(isValidDcName(bad)).toBe(false);
      expect(() => markerKey(1, bad)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    }
  });
});

describe('marker value <partition>:<offset>[:<index>]', () => {
  it('round-trips the address of an event, offsets beyond 2^53 included', () => {
    expect(formatMarkerValue(7, 123, 4)).toBe('7:123:4');
    expect(parseMarkerValue('7:123:4')).toEqual({ partition: 7, offset: 123n, index: 4 });
    const big = 2n ** 62n + 1n;
    expect(parseMarkerValue(Buffer.from(formatMarkerValue(63, big, 0)))).toEqual({ partition: 63, offset: big, index: 0 });
    expect(formatMarkerValue(0, '0', 0)).toBe('0:0:0');
  });

  it('reads a value without an index (sinks before v2 records) as covering the whole record', () => {
    const m = parseMarkerValue('7:123');
    expect(m).toEqual({ partition: 7, offset: 123n });
    expect(isCoveredBy(m!, 123n, 999)).toBe(true);
    expect(isCoveredBy(m!, 124n, 0)).toBe(false);
  });

  it('orders addresses by record offset, then index', () => {
    const m = { partition: 0, offset: 10n, index: 2 };
    expect(isCoveredBy(m, 9n, 50)).toBe(true);
    expect(isCoveredBy(m, 10n, 2)).toBe(true);
    expect(isCoveredBy(m, 10n, 3)).toBe(false);
    expect(isCoveredBy(m, 11n, 0)).toBe(false);
  });

  it('returns undefined for malformed values', () => {
    for (const bad of ['', '7', '7:', ':1', '-1:5', '7:-5', '07:1', '7:01', '7:1:', '7:1:02', '7:1:2:3', 'a:b', ' 7:1']) {
      expect(parseMarkerValue(bad)).toBeUndefined();
    }
  });

  it('refuses negative positions', () => {
    expect(() => formatMarkerValue(-1, 0, 0)).toThrow(RangeError);
    expect(() => formatMarkerValue(0, -1n, 0)).toThrow(RangeError);
    expect(() => formatMarkerValue(0, 0, -1)).toThrow(RangeError);
  });
});
