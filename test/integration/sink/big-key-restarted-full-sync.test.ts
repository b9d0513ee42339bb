import { randomBytes } from 'node:crypto';
import type { Cluster } from 'ioredis';
import type { Consumer } from 'kafkajs';
import { EVENT_FLAGS } from '../../../services/shared/change-event';
import { decodeChangeRecord } from '../../../services/shared/change-record';
import { topicsOf } from '../../../services/shared/kafka-client';
import { payloadTagOf } from '../../../services/shared/payload-sequence';
import { readTopicToEnd } from '../../../services/shared/topic-reader';
import { slotTag } from '../../../services/shared/slot-tags';
import { clusterClient } from '../../harness/endpoints';
import { createDcTopics, startSink, type SinkProcess } from '../../harness/sink-process';
import { kafka, readEvents, sleep, startSource, type SourceProcess } from '../../harness/source-process';

/**
 * Issue 11, "Big key": a full sync that breaks inside a big key. Cluster a
 * holds a 32 MiB key; with `source.maxEventPayloadBytes` at 64 KiB it travels
 * as 512 payload chunks. The source is SIGKILLed during its first full sync,
 * as soon as a read_committed consumer sees the key's first chunks committed,
 * so those chunks stay in the topic while their payload-last never comes.
 * The restarted source full-syncs again (no checkpoint: the RDB was never
 * finished), a new transfer that re-sends the key's chunks. The sink, running
 * throughout, must discard the orphan chunks rather than join them to the
 * retry's: the key arrives intact in cluster b (same DUMP), the DLQ stays
 * empty, and the sink's committed offsets reach the end of every partition
 * (the orphan holds nothing back).
 */
const SRC = 'bka';
const DST = 'bkb';
const KEY_BYTES = 32 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;
const SOURCE_YAML = ['source:', `  maxEventPayloadBytes: ${CHUNK_BYTES}`, '  maxBufferedBytes: 1048576'].join('\n');

describe('sink: a big key across a full sync killed inside it', () => {
  let source: SourceProcess | undefined;
  let sink: SinkProcess | undefined;
  let watcher: Consumer | undefined;
  let ca: Cluster | undefined;
  let cb: Cluster | undefined;
  afterAll(async () => {
    await watcher?.disconnect();
    await source?.kill('SIGTERM');
    await sink?.kill('SIGTERM');
    ca?.disconnect();
    cb?.disconnect();
  });

  test('the orphan chunks are discarded; the key arrives intact, nothing in the DLQ, offsets committed to the end', async () => {
    await createDcTopics(SRC);
    await createDcTopics(DST);
    ca = clusterClient('a');
    cb = clusterClient('b');
    const run = Date.now().toString(36);
    const key = `bk:${run}:{${slotTag(4242)}}:big`;
    const small = Array.from({ length: 50 }, (_, i) => `bk:${run}:{${slotTag((i * 331) % 16384)}}:s${i}`);
    await ca.set(key, randomBytes(KEY_BYTES)); // incompressible: LZF cannot shrink it
    for (const k of small) await ca.set(k, `v-${k}`);
    const dump = await ca.dumpBuffer(key);
    expect(dump).not.toBeNull();

    sink = await startSink({ dc: DST, cluster: 'b', peers: [SRC] });

    // Sees what the sink sees (read_committed); kills the source once the key's first chunks are committed.
    watcher = kafka().consumer({ groupId: `bk-watch-${run}`, maxWaitTimeInMs: 20, readUncommitted: false });
    await watcher.connect();
    await watcher.subscribe({ topic: topicsOf(SRC).changes, fromBeginning: true });
    let chunksSeen = 0;
    let killing: Promise<void> | undefined;
    const joined = new Promise<void>((resolve) => watcher!.on(watcher!.events.GROUP_JOIN, () => resolve()));
    await watcher.run({
      eachMessage: async ({ message }) => {
        if (message.value === null || killing) return;
        for (const e of decodeChangeRecord(message.value)) {
          if (e.flags.includes(EVENT_FLAGS.payloadChunk) && e.commands[0][0].toString() === key) chunksSeen++;
        }
        if (chunksSeen > 0) killing = source?.kill('SIGKILL');
      },
    });
    await joined;

    source = await startSource({ dc: SRC, cluster: 'a', extraYaml: SOURCE_YAML, waitReady: false });
    const deadline = Date.now() + 120_000;
    while (!killing && Date.now() < deadline) {
      if (source.proc.exitCode !== null) throw new Error(`source exited early:\n${source.log().slice(-3000)}`);
      await sleep(5);
    }
    expect(killing).toBeDefined();
    await killing;
    await watcher.disconnect();
    watcher = undefined;

    // Restarted at once: its producer (same transactional id) fences the killed one's open
    // transaction, which read_committed readers would otherwise wait on for its timeout.
    source = await startSource({ dc: SRC, cluster: 'a', extraYaml: SOURCE_YAML, waitReady: false });

    // The key arrives intact in b.
    const until = Date.now() + 150_000;
    let got: Buffer | null = null;
    while (Date.now() < until) {
      got = await cb.dumpBuffer(key);
      if (got !== null) break;
      await sleep(250);
    }
    expect(got?.equals(dump!)).toBe(true);
    expect((await cb.getBuffer(key))?.equals((await ca.getBuffer(key))!)).toBe(true);
    // The small keys come through other links (other masters' RDBs), maybe later than the big key.
    const smallUntil = Date.now() + 60_000;
    while (Date.now() < smallUntil && (await Promise.all(small.map((k) => cb!.exists(k)))).some((n) => n === 0)) await sleep(250);
    for (const k of small) expect(await cb.get(k)).toBe(`v-${k}`);

    // The topic holds what the test is about: chunks of the key from a first transfer that never
    // got its payload-last (if the kill came after the key, this test proves nothing: raise
    // KEY_BYTES), then a second transfer that sent the key whole, in at least 20 chunks.
    const events = (await readEvents(SRC)).filter((e) => e.kind === 'snapshot' && (e.flags.includes(EVENT_FLAGS.payloadChunk) ? e.commands[0][0] : e.commands[0][1])?.toString() === key);
    const transfers = [...new Set(events.map((e) => payloadTagOf(e.flags).transfer))];
    expect(transfers).toHaveLength(2);
    const [t1, t2] = transfers;
    const orphan = events.filter((e) => payloadTagOf(e.flags).transfer === t1);
    expect(orphan.length).toBeGreaterThan(0);
    expect(orphan.every((e) => e.flags.includes(EVENT_FLAGS.payloadChunk))).toBe(true);
    const chunks = Math.ceil(dump!.length / CHUNK_BYTES); // the RESTORE payload is the DUMP
    expect(chunks).toBeGreaterThanOrEqual(20);
    expect(orphan.length).toBeLessThan(chunks);
    const last = events.filter((e) => e.flags.includes(EVENT_FLAGS.payloadLast));
    expect(last).toHaveLength(1);
    expect(payloadTagOf(last[0].flags)).toEqual({ transfer: t2, index: chunks });
    expect(events.filter((e) => payloadTagOf(e.flags).transfer === t2)).toHaveLength(chunks + 1);

    // The sink discarded the orphan (and said so), sent nothing to the DLQ, and committed to the end.
    const discarded = await sink.metric('tandem_sink_restore_sequences_discarded_total');
    expect(discarded.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
    expect(sink.log()).toContain('discarded an unfinished big-key chunk sequence');
    expect(sink.log()).toContain(t1!);
    // Nothing of this test's keys in the DLQ. (The first full sync of the shared cluster a also carries
    // what earlier tests left there, e.g. the reserved key a client wrote in dlq.test.ts, which is
    // refused to the DLQ by design; those are printed, not counted.)
    const ours: string[] = [];
    const others: string[] = [];
    await readTopicToEnd(kafka(), { topic: topicsOf(DST).dlq, timeoutMs: 30_000 }, (m) => {
      const text = `${String(m.headers?.['tandem-dlq-reason'] ?? '')}: ${m.value?.toString('latin1').slice(0, 160)}`;
      (m.value?.includes(`bk:${run}`) ? ours : others).push(text);
    });
    if (others.length > 0) console.log(`DLQ records of other tests' keys:\n${others.join('\n')}`);
    expect(ours).toEqual([]);
    await expectCommittedToEnd(`tandem-sink-${DST}`, topicsOf(SRC).changes);
  });
});

/** Every partition that holds records: the group's committed offset is past its last record. */
async function expectCommittedToEnd(groupId: string, topic: string): Promise<void> {
  const lastRecord = new Map<number, bigint>();
  await readTopicToEnd(kafka(), { topic, timeoutMs: 60_000 }, (m, partition) => {
    lastRecord.set(partition, BigInt(m.offset));
  });
  const admin = kafka().admin();
  await admin.connect();
  try {
    let behind: string[] = [];
    const deadline = Date.now() + 60_000;
    do {
      const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const at = new Map(committed.partitions.map((p) => [p.partition, BigInt(p.offset)]));
      behind = [...lastRecord].filter(([p, last]) => (at.get(p) ?? -1n) <= last).map(([p, last]) => `${p}: committed ${at.get(p)}, last record ${last}`);
      if (behind.length === 0) return;
      await sleep(500);
    } while (Date.now() < deadline);
    expect(behind).toEqual([]);
  } finally {
    await admin.disconnect();
  }
}
