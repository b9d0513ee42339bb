import { decodeChangeRecord, encodeEventBody, readRecordHeaders } from '../../../../services/shared/change-record';
import type { ChangeEvent } from '../../../../services/shared/change-event';
import type { PendingEvent } from '../../../../services/source/kafka/pending-batch';
import { packRecords, RECORD_HEADERS_BYTES } from '../../../../services/source/kafka/record-packer';

function pending(partition: number, n: number, over: Partial<ChangeEvent> = {}, alone = false): PendingEvent {
  const e: ChangeEvent = {
    origin: 'a', source: 'a', kind: 'command', slot: partition * 256, db: 0, commands: [[Buffer.from('INCR'), Buffer.from(`k${n}`)]],
    replId: 'r', replOffset: n, nodeId: 'n', capturedAt: 1000 + n, seq: 0, flags: [], dedupeKey: null, ...over,
  };
  return { partition, body: encodeEventBody(e), origin: e.origin, source: e.source, kind: e.kind, capturedAt: e.capturedAt, alone };
}

const offsets = (value: Buffer | string | null) => decodeChangeRecord(value as Buffer).map((e) => e.replOffset);

describe('packRecords: runs of consecutive events of one partition', () => {
  test('groups each partition\'s events in append order, whatever the interleaving', () => {
    const events = [pending(1, 1), pending(2, 2), pending(1, 3), pending(2, 4), pending(1, 5)];
    const records = packRecords(events, { maxEvents: 100, maxBytes: 1 << 20 });
    expect(records.map((r) => [r.partition, offsets(r.message.value)])).toEqual([
      [1, [1, 3, 5]],
      [2, [2, 4]],
    ]);
    expect(records[0].message.timestamp).toBe('1005'); // the last event's capture time
    expect(readRecordHeaders(records[0].message.headers as never)).toMatchObject({ count: 3, origins: ['a'], kinds: ['command'] });
  });

  test('cuts a run at maxEvents and at maxBytes, never splitting an event', () => {
    const events = Array.from({ length: 10 }, (_, i) => pending(0, i));
    expect(packRecords(events, { maxEvents: 4, maxBytes: 1 << 20 }).map((r) => r.events)).toEqual([4, 4, 2]);
    const size = events[0].body.length;
    const records = packRecords(events, { maxEvents: 100, maxBytes: RECORD_HEADERS_BYTES + 3 * size + 4 });
    expect(records.map((r) => r.events)).toEqual([3, 3, 3, 1]);
    for (const r of records) expect((r.message.value as Buffer).length).toBeLessThanOrEqual(3 * size + 4);
  });

  test('a big key\'s payload chunk is a record of its own, between the runs around it', () => {
    const events = [pending(0, 1), pending(0, 2, {}, true), pending(0, 3, {}, true), pending(0, 4)];
    expect(packRecords(events, { maxEvents: 100, maxBytes: 1 << 20 }).map((r) => offsets(r.message.value))).toEqual([[1], [2], [3], [4]]);
  });

  test('headers list every origin and kind of the record', () => {
    const events = [pending(0, 1, { kind: 'marker', origin: 'b' }), pending(0, 2, { kind: 'transaction', origin: 'b' }), pending(0, 3)];
    const [r] = packRecords(events, { maxEvents: 100, maxBytes: 1 << 20 });
    expect(readRecordHeaders(r.message.headers as never)).toMatchObject({ origins: ['b', 'a'], kinds: ['marker', 'transaction', 'command'], count: 3 });
  });
});
