import type { Cluster } from 'ioredis';
import type { ChangeEvent } from '../../../services/shared/change-event';
import { changeRecordHeaders, encodeChangeRecord } from '../../../services/shared/change-record';
import { topicsOf } from '../../../services/shared/kafka-client';
import { slotPartition } from '../../../services/shared/slot';
import { slotTag } from '../../../services/shared/slot-tags';
import { clusterClient } from '../../harness/endpoints';
import { createDcTopics, startSink, type SinkProcess } from '../../harness/sink-process';
import { kafka, sleep } from '../../harness/source-process';

/**
 * Exactly-once inside one Kafka record: a single format-v2 record carries
 * 12,000 events (INCR and RPUSH of a running number, on three slots of one
 * partition). The sink applies it one command per MULTI (maxCommandsPerTransaction
 * 1), so applying the record takes thousands of transactions, and it is
 * SIGKILLed while the record is partly applied. The restarted sink re-reads
 * the record (its offset was never committed) and the markers, which hold
 * the index of the last event applied, make it skip exactly the events
 * already applied: every counter ends at its count and every list holds
 * 0..n-1 once each, in order.
 */
const SRC = 'mra';
const DST = 'mrb';
const PARTITIONS = 16;

describe('sink: a crash in the middle of a multi-event record', () => {
  let sink: SinkProcess | undefined;
  let cb: Cluster;
  afterAll(async () => {
    await sink?.kill('SIGTERM');
    cb?.disconnect();
  });

  test('no event of the record is applied twice or skipped', async () => {
    await createDcTopics(SRC, PARTITIONS);
    await createDcTopics(DST, PARTITIONS);
    cb = clusterClient('b');
    const p = `mr-${Date.now()}`;
    const slots = [10, 400, 900]; // all in partition 0 of 16
    expect(new Set(slots.map((s) => slotPartition(s, PARTITIONS)))).toEqual(new Set([0]));
    const counters = slots.map((s) => `${p}:{${slotTag(s)}}:c`);
    const lists = slots.map((s) => `${p}:{${slotTag(s)}}:l`);
    const PER_KEY = 2000;
    const events: ChangeEvent[] = [];
    for (let i = 0; i < PER_KEY; i++) {
      slots.forEach((slot, k) => {
        const base = { origin: SRC, source: SRC, kind: 'command' as const, slot, db: 0, replId: 'm'.repeat(40), nodeId: 'test', capturedAt: Date.now(), seq: 0, flags: [], dedupeKey: null };
        events.push({ ...base, replOffset: events.length + 1, commands: [[Buffer.from('INCR'), Buffer.from(counters[k])]] });
        events.push({ ...base, replOffset: events.length + 1, commands: [[Buffer.from('RPUSH'), Buffer.from(lists[k]), Buffer.from(String(i))]] });
      });
    }
    const producer = kafka().producer();
    await producer.connect();
    await producer.send({
      topic: topicsOf(SRC).changes,
      messages: [{ partition: 0, value: encodeChangeRecord(events), headers: changeRecordHeaders(events) }],
    });
    await producer.disconnect();

    sink = await startSink({ dc: DST, cluster: 'b', peers: [SRC], sinkLines: ['maxCommandsPerTransaction: 1'] });
    // Kill it once some, not all, of the record is applied.
    let partial: number[] = [];
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      partial = await Promise.all(counters.map(async (k) => Number(await cb.get(k))));
      const sum = partial.reduce((a, b) => a + b, 0);
      if (sum > 0) break;
      await sleep(5);
    }
    await sink.kill('SIGKILL');
    const atKill = await Promise.all(counters.map(async (k) => Number(await cb.get(k))));
    const appliedAtKill = atKill.reduce((a, b) => a + b, 0);
    expect(appliedAtKill).toBeGreaterThan(0);
    expect(appliedAtKill).toBeLessThan(PER_KEY * slots.length); // the kill came inside the record

    sink = await sink.restart();
    const end = Date.now() + 90_000;
    let values: number[] = [];
    while (Date.now() < end) {
      values = await Promise.all(counters.map(async (k) => Number(await cb.get(k))));
      if (values.every((v) => v >= PER_KEY)) break;
      await sleep(250);
    }
    await sleep(1000); // nothing more may arrive
    values = await Promise.all(counters.map(async (k) => Number(await cb.get(k))));
    expect(values).toEqual(counters.map(() => PER_KEY));
    const expected = Array.from({ length: PER_KEY }, (_, i) => String(i));
    for (const l of lists) expect(await cb.lrange(l, 0, -1)).toEqual(expected);
    const [skipped] = await sink.metric('tandem_sink_events_dropped_total', { reason: 'already-applied' });
    expect(skipped).toBeGreaterThan(0); // the restarted sink did meet applied events of the record and skipped them
  });
});
