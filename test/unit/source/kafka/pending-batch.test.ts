import { EVENT_OVERHEAD_BYTES, PendingBatch, type PendingEvent } from '../../../../services/source/kafka/pending-batch';
import type { CheckpointRecord } from '../../../../services/shared/checkpoint';

const cp = (offset: number): CheckpointRecord => ({
  replid: 'r1', offset, db: 0, nodeId: 'n', address: 'h:1', partitions: 16, dc: 'a', updatedAt: 0,
});
const event = (n: number, kind: PendingEvent['kind'] = 'command'): PendingEvent => ({
  partition: 0, body: Buffer.from(`m${n}`), origin: 'a', source: 'a', kind, capturedAt: n, alone: false,
});

describe('PendingBatch: a committed checkpoint never runs ahead of its events', () => {
  test('take(n) includes only the checkpoints whose events are all in the batch', () => {
    const p = new PendingBatch();
    for (let i = 0; i < 5; i++) {
      p.append(event(i));
      p.checkpoint('r1', cp(100 + i)); // the checkpoint after event i
    }
    const first = p.take(3);
    expect(first.events.map((e) => String(e.body))).toEqual(['m0', 'm1', 'm2']);
    expect(first.checkpoints.get('r1')?.offset).toBe(102); // after m2, not after m4
    expect(first.bytes).toBe(3 * (2 + EVENT_OVERHEAD_BYTES)); // bodies plus what each buffered event costs besides
    const second = p.take(10);
    expect(second.events.map((e) => String(e.body))).toEqual(['m3', 'm4']);
    expect(second.checkpoints.get('r1')?.offset).toBe(104);
    expect(p.empty).toBe(true);
    expect(p.bytes).toBe(0);
  });

  test('a checkpoint without events (idle stream) and a tombstone travel in the next batch', () => {
    const p = new PendingBatch();
    p.checkpoint('old', null);
    p.checkpoint('r2', cp(7));
    const b = p.take(100);
    expect(b.events).toEqual([]);
    expect([...b.checkpoints]).toEqual([['old', null], ['r2', cp(7)]]);
  });

  test('restore puts a failed batch back in front, with its checkpoints pinned to it', () => {
    const p = new PendingBatch();
    p.append(event(0));
    p.checkpoint('r1', cp(1));
    const failed = p.take(10);
    p.append(event(1, 'transaction')); // appended while the commit was failing
    p.checkpoint('r1', cp(2));
    p.restore(failed);
    expect(p.length).toBe(2);
    expect(p.bytes).toBe(2 * (2 + EVENT_OVERHEAD_BYTES));
    const one = p.take(1);
    expect(one.events.map((e) => String(e.body))).toEqual(['m0']);
    expect(one.checkpoints.get('r1')?.offset).toBe(1);
    const two = p.take(1);
    expect(two.events.map((e) => e.kind)).toEqual(['transaction']);
    expect(two.checkpoints.get('r1')?.offset).toBe(2);
  });

  test('take cuts at a byte budget, but always takes one event', () => {
    const p = new PendingBatch();
    for (let i = 0; i < 10; i++) p.append(event(i));
    expect(p.take(100, 3 * (2 + EVENT_OVERHEAD_BYTES)).events).toHaveLength(3);
    expect(p.take(100, 1).events).toHaveLength(1);
    expect(p.length).toBe(6);
  });

  test('a burst of many events each followed by its checkpoint is taken in slices, checkpoints in step', () => {
    const p = new PendingBatch();
    for (let i = 0; i < 100_000; i++) {
      p.append(event(i));
      p.checkpoint('r1', cp(i));
    }
    let last = -1;
    while (p.length > 0) {
      const b = p.take(7_000);
      const at = b.checkpoints.get('r1')?.offset;
      expect(at).toBe(Number(String(b.events[b.events.length - 1].body).slice(1)));
      expect(at).toBeGreaterThan(last);
      last = at!;
    }
    expect(p.empty).toBe(true);
  });
});
