import { InvalidArgumentError } from 'commander';
import { parsePosition, parseSlotRange, parseTime, partitionsOfSlots, planRanges, positionOffset, type PartitionBounds } from '../../../services/cli/kafka-range';

const NOW = Date.parse('2024-05-01T12:00:00Z');

describe('time and position parsing', () => {
  test('ISO 8601 times, with or without zone and time of day', () => {
    expect(parseTime('2024-05-01T12:00:00Z', NOW)).toBe(NOW);
    expect(parseTime('2024-05-01T14:00:00+02:00', NOW)).toBe(NOW);
    expect(parseTime('2024-05-01T12:00:00.250Z', NOW)).toBe(NOW + 250);
    expect(parseTime('2024-05-01', NOW)).toBe(Date.parse('2024-05-01'));
  });

  test('relative times count back from now', () => {
    expect(parseTime('-15m', NOW)).toBe(NOW - 15 * 60_000);
    expect(parseTime('-2h', NOW)).toBe(NOW - 7_200_000);
    expect(parseTime('-30s', NOW)).toBe(NOW - 30_000);
    expect(parseTime('-7d', NOW)).toBe(NOW - 7 * 86_400_000);
    expect(parseTime('now', NOW)).toBe(NOW);
  });

  test('anything else is a usage error naming the value', () => {
    for (const bad of ['yesterday', '1', '15m', '2024-13', '', '-5w']) {
      expect(() => parseTime(bad, NOW)).toThrow(InvalidArgumentError);
    }
    expect(() => parseTime('yesterday', NOW)).toThrow(/"yesterday"/);
  });

  test('positions: earliest, latest, times and partition:offset lists', () => {
    expect(parsePosition('earliest')).toEqual({ kind: 'earliest' });
    expect(parsePosition('latest')).toEqual({ kind: 'latest' });
    expect(parsePosition('-1h', NOW)).toEqual({ kind: 'time', ms: NOW - 3_600_000, text: '-1h' });
    expect(parsePosition('0:15,3:200')).toEqual({ kind: 'offsets', offsets: new Map([[0, 15n], [3, 200n]]) });
    expect(() => parsePosition('0:15,0:16')).toThrow(/twice/);
    expect(() => parsePosition('0:x')).toThrow(InvalidArgumentError);
    expect(() => parsePosition('sometime')).toThrow(/earliest, latest/);
  });

  test('slot ranges are inclusive and within 0-16383', () => {
    expect(parseSlotRange('0-5460')).toEqual({ first: 0, last: 5460 });
    expect(parseSlotRange('42')).toEqual({ first: 42, last: 42 });
    for (const bad of ['5-2', '0-16384', 'a-b', '-1', '1-']) expect(() => parseSlotRange(bad)).toThrow(InvalidArgumentError);
  });

  test('the partitions of a slot range follow floor(slot × P / 16384)', () => {
    expect(partitionsOfSlots({ first: 0, last: 16383 }, 64)).toHaveLength(64);
    expect(partitionsOfSlots({ first: 0, last: 255 }, 64)).toEqual([0]);
    expect(partitionsOfSlots({ first: 255, last: 256 }, 64)).toEqual([0, 1]);
  });
});

describe('ranges', () => {
  const bounds: PartitionBounds[] = [
    { partition: 0, low: 0n, high: 100n },
    { partition: 1, low: 10n, high: 50n },
    { partition: 2, low: 0n, high: 0n },
  ];

  test('earliest to latest reads each partition from its low to its high watermark', () => {
    expect(planRanges(bounds, { kind: 'earliest' }, undefined, {})).toEqual([
      { partition: 0, from: 0n, to: 100n },
      { partition: 1, from: 10n, to: 50n },
      { partition: 2, from: 0n, to: 0n },
    ]);
  });

  test('times use the offsets-by-timestamp answer, clamped to the log; a time end also reads the record found there (its first events may be earlier)', () => {
    const from = new Map([[0, 40n], [1, 5n], [2, 0n]]);
    const to = new Map([[0, 60n], [1, 50n], [2, 0n]]);
    const r = planRanges(bounds, { kind: 'time', ms: 1, text: '' }, { kind: 'time', ms: 2, text: '' }, { from, to });
    expect(r).toEqual([
      { partition: 0, from: 40n, to: 61n },
      { partition: 1, from: 10n, to: 50n },
      { partition: 2, from: 0n, to: 0n },
    ]);
  });

  test('an offset list as --from reads only its partitions; as --to it ends only the named ones', () => {
    const r = planRanges(bounds, { kind: 'offsets', offsets: new Map([[1, 20n]]) }, undefined, {});
    expect(r).toEqual([{ partition: 1, from: 20n, to: 50n }]);
    const r2 = planRanges(bounds, { kind: 'earliest' }, { kind: 'offsets', offsets: new Map([[0, 30n]]) }, {}, { only: [0, 1] });
    expect(r2).toEqual([
      { partition: 0, from: 0n, to: 30n },
      { partition: 1, from: 10n, to: 50n },
    ]);
  });

  test('an end before the start reads nothing; follow has no end', () => {
    expect(planRanges(bounds, { kind: 'offsets', offsets: new Map([[0, 80n]]) }, { kind: 'offsets', offsets: new Map([[0, 20n]]) }, {})).toEqual([{ partition: 0, from: 80n, to: 80n }]);
    expect(planRanges(bounds, { kind: 'latest' }, undefined, {}, { only: [0], follow: true })).toEqual([{ partition: 0, from: 100n }]);
  });

  test('a time after the last record means the high watermark', () => {
    expect(positionOffset({ kind: 'time', ms: 1, text: '' }, bounds[0], new Map())).toBe(100n);
  });
});
