import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster } from 'ioredis';
import { topicsOf } from '../../../services/shared/kafka-client';
import { runCli } from '../../harness/cli-run';
import { clusterClient, testEndpoints } from '../../harness/endpoints';
import { createDcTopics, startSink, type SinkProcess } from '../../harness/sink-process';
import { kafka, sleep } from '../../harness/source-process';

/**
 * Records of format v1 (one event per record), as the v1 source (f6a0abb)
 * really wrote them (test/fixtures/records/), stay readable after the switch
 * to batch records: put back into a changes topic, the sink applies them,
 * `tandem audit` lists them and `tandem replay` re-applies them.
 *
 * The fixture's events are of DC `a`, so they go to `tandem.a.changes`; no
 * other test uses DC `a`.
 */
interface FixtureRecord {
  partition: number;
  offset: string;
  timestamp: string;
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

const FIXTURE = join(__dirname, '../../fixtures/records/v1-records.json');
const DC = 'a';
const SINK_DC = 'v1b';

describe('v1 records written before the batch format', () => {
  let sink: SinkProcess | undefined;
  let ca: Cluster;
  let cb: Cluster;
  const brokers = () => testEndpoints().kafkaBrokers.join(',');
  afterAll(async () => {
    await sink?.kill('SIGTERM');
    ca?.disconnect();
    cb?.disconnect();
  });

  test('are applied by the sink, listed by audit and re-applied by replay', async () => {
    const records = JSON.parse(readFileSync(FIXTURE, 'utf8')) as FixtureRecord[];
    await createDcTopics(DC, 16);
    await createDcTopics(SINK_DC, 16);
    const producer = kafka().producer();
    await producer.connect();
    for (const r of records) {
      await producer.send({
        topic: topicsOf(DC).changes,
        messages: [{ partition: r.partition, key: r.key === null ? null : Buffer.from(r.key, 'base64'), value: Buffer.from(r.value, 'base64'), headers: r.headers, timestamp: r.timestamp }],
      });
    }
    await producer.disconnect();

    cb = clusterClient('b');
    sink = await startSink({ dc: SINK_DC, cluster: 'b', peers: [DC] });
    const deadline = Date.now() + 60_000;
    // The records sit in several partitions: a key of one being visible says nothing of the others' apply (nor of the
    // counter, incremented once the EXEC replied): wait for the count, then check it stays exact.
    const appliedCount = async () => (await sink!.metric('tandem_sink_events_applied_total')).reduce((a, b) => a + b, 0);
    while (Date.now() < deadline && (await appliedCount()) < records.length) await sleep(250);
    await sleep(1000);
    // Commands, a transaction and snapshots (RESTORE) of the fixture, as the v1 source captured them.
    expect(await cb.get('{cmd}:counter')).toBe('3');
    expect(await cb.lrange('{cmd}:list', 0, -1)).toEqual(['a', 'b', 'c']);
    expect(await cb.hgetall('{cmd}:hash')).toEqual({ f1: 'v1', f2: 'v2' });
    expect(await cb.exists('{cmd}:k')).toBe(0); // SET, then DEL
    expect(Buffer.compare((await cb.getBuffer('{bin}:k'))!, Buffer.from([0x00, 0xff, 0x0d, 0x0a]))).toBe(0);
    expect([await cb.get('{tx}:a'), await cb.get('{tx}:n'), await cb.lrange('{tx}:l', 0, -1)]).toEqual(['1', '1', ['x', 'y']]);
    expect(await cb.exists('{snap}:str', '{snap}:hash', '{snap}:list', '{snap}:bin', '{snap}:ttl')).toBe(5);
    expect(await appliedCount()).toBe(records.length); // 9 commands, 1 transaction, 5 snapshots, FUNCTION LOAD and DELETE

    const audit = await runCli(['audit', '--dc', DC, '--key', '{cmd}:counter', '--json', '--brokers', brokers()]);
    expect(audit.status).toBe(0);
    const entries = JSON.parse(audit.stdout) as { index: number; kind: string; commands: string[][] }[];
    expect(entries.map((e) => [e.kind, e.index, e.commands[0][0]])).toEqual([
      ['command', 0, 'INCR'],
      ['command', 0, 'INCR'],
      ['command', 0, 'INCR'],
    ]);

    ca = clusterClient('a');
    const target = `redis://${testEndpoints().redisA[0].host}:${testEndpoints().redisA[0].port}`;
    const replay = await runCli(['replay', '--dc', DC, '--from', 'earliest', '--key', '{cmd}:*', '--target', target, '--json', '--progress', 'none', '--brokers', brokers()]);
    expect(replay.status).toBe(0);
    expect(await ca.get('{cmd}:counter')).toBe('3');
    expect(await ca.lrange('{cmd}:list', 0, -1)).toEqual(['a', 'b', 'c']);
  });
});
