import type { Cluster } from 'ioredis';
import { changeEventHeaders, encodeChangeEvent, eventPartition, type ChangeEvent } from '../../../services/shared/change-event';
import { decodeChangeRecord } from '../../../services/shared/change-record';
import { topicsOf } from '../../../services/shared/kafka-client';
import { keySlot } from '../../../services/shared/slot';
import { readTopicToEnd } from '../../../services/shared/topic-reader';
import { DLQ_HEADERS } from '../../../services/sink/kafka/dlq';
import { clusterClient } from '../../harness/endpoints';
import { createDcTopics, startSink, type SinkProcess } from '../../harness/sink-process';
import { kafka, sleep, startSource, type SourceProcess } from '../../harness/source-process';

/**
 * Errors never block a partition: a WRONGTYPE conflict, records that do not
 * decode, and a command refused at queue time (EXECABORT) each land in
 * tandem.<sink dc>.dlq with the error, and later events keep flowing.
 */
const SRC = 'dqa';
const DST = 'dqb';
const PARTITIONS = 16;

interface DlqRecord {
  value: Buffer | null;
  headers: Record<string, string>;
}

async function readDlq(): Promise<DlqRecord[]> {
  const out: DlqRecord[] = [];
  await readTopicToEnd(kafka(), { topic: topicsOf(DST).dlq, timeoutMs: 30_000 }, (m) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.headers ?? {})) if (v !== undefined) headers[k] = String(Array.isArray(v) ? v[0] : v);
    out.push({ value: m.value, headers });
  });
  return out;
}

describe('sink: DLQ', () => {
  let source: SourceProcess | undefined;
  let sink: SinkProcess | undefined;
  let ca: Cluster;
  let cb: Cluster;
  afterAll(async () => {
    await sink?.kill('SIGTERM');
    await source?.kill('SIGTERM');
    ca?.disconnect();
    cb?.disconnect();
  });

  test('WRONGTYPE, undecodable records and EXECABORT go to the DLQ; the partition keeps flowing', async () => {
    await createDcTopics(SRC, PARTITIONS);
    await createDcTopics(DST, PARTITIONS);
    source = await startSource({ dc: SRC, cluster: 'a' });
    sink = await startSink({ dc: DST, cluster: 'b', peers: [SRC] });
    ca = clusterClient('a');
    cb = clusterClient('b');
    const p = `dq-${Date.now()}`;
    const conflict = `${p}:{w}:k`;
    const after = `${p}:{w}:after`;

    // The conflict: b holds a string (its own write), then a pushes to a list of the same name.
    await cb.set(conflict, 'a string in b');
    await ca.rpush(conflict, 'x');
    for (let i = 0; i < 5; i++) await ca.incr(after);

    // Garbage on the changes topic: with event headers (passes the origin filter, fails decoding) and without.
    const producer = kafka().producer();
    await producer.connect();
    const slot = keySlot(`${p}:{g}:x`);
    const partition = eventPartition({ slot }, PARTITIONS);
    await producer.send({
      topic: topicsOf(SRC).changes,
      messages: [
        { partition, value: Buffer.from('not a tandem event'), headers: { origin: SRC, kind: 'command' } },
        { partition, value: Buffer.from([0x54, 0x01, 0xde, 0xad]) },
      ],
    });
    // A command refused at queue time (wrong arity) between two good ones of the same slot:
    // the MULTI aborts, the sink re-applies one by one and rejects only the bad one.
    const ev = (offsetTag: number, argv: string[]): ChangeEvent => ({
      origin: SRC, source: SRC, kind: 'command', slot, db: 0, commands: [argv.map((s) => Buffer.from(s))],
      replId: 'f'.repeat(40), replOffset: offsetTag, nodeId: 'test', capturedAt: Date.now(), seq: 0, flags: [], dedupeKey: null,
    });
    await producer.send({
      topic: topicsOf(SRC).changes,
      messages: [ev(1, ['INCR', `${p}:{g}:x`]), ev(2, ['SET', `${p}:{g}:bad`]), ev(3, ['INCR', `${p}:{g}:x`])].map((e) => ({
        partition,
        value: encodeChangeEvent(e),
        headers: changeEventHeaders(e),
      })),
    });
    await producer.disconnect();

    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if ((await cb.get(after)) === '5' && (await cb.get(`${p}:{g}:x`)) === '2') break;
      await sleep(300);
    }
    expect(await cb.get(after)).toBe('5');
    expect(await cb.get(`${p}:{g}:x`)).toBe('2');
    expect(await cb.type(conflict)).toBe('string');

    let dlq: DlqRecord[] = [];
    for (let i = 0; i < 20; i++) {
      dlq = (await readDlq()).filter((r) => r.headers[DLQ_HEADERS.topic] === topicsOf(SRC).changes);
      if (dlq.length >= 4) break;
      await sleep(500);
    }
    const wrongType = dlq.filter((r) => r.headers[DLQ_HEADERS.error]?.includes('WRONGTYPE'));
    expect(wrongType).toHaveLength(1);
    expect(wrongType[0].headers).toMatchObject({ [DLQ_HEADERS.reason]: 'rejected', [DLQ_HEADERS.origin]: SRC, [DLQ_HEADERS.sinkDc]: DST });
    // The DLQ record holds the one event that failed, as a record of its own, and says where it was.
    const [bad, ...others] = decodeChangeRecord(wrongType[0].value!);
    expect(others).toEqual([]);
    expect(bad.commands[0].map(String)).toEqual(['rpush', conflict, 'x']); // as the master propagated it
    expect(wrongType[0].headers[DLQ_HEADERS.index]).toMatch(/^\d+$/);
    expect(Number(wrongType[0].headers[DLQ_HEADERS.partition])).toBe(eventPartition({ slot: keySlot(conflict) }, PARTITIONS));
    expect(wrongType[0].headers[DLQ_HEADERS.offset]).toMatch(/^\d+$/);

    const undecodable = dlq.filter((r) => r.headers[DLQ_HEADERS.reason] === 'decode');
    expect(undecodable.map((r) => r.value?.toString('latin1'))).toEqual(['not a tandem event', Buffer.from([0x54, 0x01, 0xde, 0xad]).toString('latin1')]);
    expect(undecodable[0].headers[DLQ_HEADERS.error]).toMatch(/cannot decode change record: bad magic/);
    expect(undecodable[1].headers[DLQ_HEADERS.error]).toMatch(/cannot decode ChangeEvent/); // a broken v1 record

    const aborted = dlq.filter((r) => r.headers[DLQ_HEADERS.error]?.includes('wrong number of arguments'));
    expect(aborted).toHaveLength(1);
    expect(decodeChangeRecord(aborted[0].value!)[0].commands[0].map(String)).toEqual(['SET', `${p}:{g}:bad`]);

    const [dlqCount] = await sink.metric('tandem_sink_dlq_total', { reason: 'rejected' });
    expect(dlqCount).toBeGreaterThanOrEqual(2);
  });
});
