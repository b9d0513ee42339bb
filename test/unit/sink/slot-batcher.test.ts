import { planLanes, splitRuns } from '../../../services/sink/apply/slot-batcher';
import { item } from './fixtures';

const limits = { maxCommands: 1000, maxBytes: 1 << 20 };
const offsets = (xs: { items: { offset: bigint }[] }[]) => xs.map((r) => r.items.map((i) => Number(i.offset)));

describe('slot-run batching', () => {
  test('consecutive events of one slot share one run (one MULTI, one marker)', () => {
    const lanes = planLanes([item(7, 10), item(7, 11), item(7, 12)], limits);
    expect(lanes).toHaveLength(1);
    expect(offsets(lanes[0])).toEqual([[10, 11, 12]]);
  });
  test('interleaved slots become one lane each, every lane in partition order', () => {
    const lanes = planLanes([item(1, 10), item(2, 11), item(1, 12), item(3, 13), item(2, 14)], limits);
    expect(lanes.map((l) => l[0].slot)).toEqual([1, 2, 3]);
    expect(lanes.map((l) => offsets(l))).toEqual([[[10, 12]], [[11, 14]], [[13]]]);
  });
  test('a run is split at maxCommands, never inside an event', () => {
    const events = [item(5, 1), item(5, 2, [['SET', 'a', '1'], ['SET', 'b', '2']]), item(5, 3), item(5, 4)];
    expect(offsets(splitRuns(events, { maxCommands: 2, maxBytes: 1 << 20 }))).toEqual([[1], [2], [3, 4]]);
  });
  test('a run is split at maxBytes; an oversize event runs alone', () => {
    const big = item(5, 2, [['SET', 'k', 'x'.repeat(100)]]);
    expect(offsets(splitRuns([item(5, 1), big, item(5, 3)], { maxCommands: 100, maxBytes: 50 }))).toEqual([[1], [2], [3]]);
  });
  test('runs carry slot, origin and partition', () => {
    const [lane] = planLanes([item(9, 1, undefined, 4)], limits);
    expect(lane[0]).toMatchObject({ slot: 9, origin: 'a', partition: 4 });
  });
});
