import type { Cluster } from 'ioredis';
import { decodeConflictRecord, type ConflictRecord } from '../../../services/shared/conflict-record';
import { topicsOf } from '../../../services/shared/kafka-client';
import { readTopicToEnd } from '../../../services/shared/topic-reader';
import { globMatch } from '../../../services/cli/replay/glob';
import { runCli } from '../../harness/cli-run';
import { clusterClient, testEndpoints } from '../../harness/endpoints';
import { createDcTopics, startSink, type SinkProcess } from '../../harness/sink-process';
import { kafka, sleep, startSource, type SourceProcess } from '../../harness/source-process';
import { metricSum, waitStampsKnown, waitUntil } from '../../harness/topology-assert';

/**
 * `tandem conflicts` end to end, on conflicts produced as in
 * test/integration/sink/conflicts.test.ts, in a smaller form: DC x on cluster
 * a, DC y on cluster b, one sink (x's, sink.conflicts: report). Twice: the
 * sink stopped, the same 10 keys written in x and in y, the sink started, its
 * 10 conflicts awaited. The CLI must list exactly the records of the round
 * and keys asked for, the same as read straight from the topic.
 */
const N = 10;


const iso = (ms: number) => new Date(ms).toISOString();

describe('tandem conflicts', () => {
  const procs: (SourceProcess | SinkProcess)[] = [];
  const run = Date.now().toString(36);
  const [x, y] = [`clx${run}`, `cly${run}`];
  const brokers = () => testEndpoints().kafkaBrokers.join(',');
  const keysOf = (round: number) => Array.from({ length: N }, (_, i) => `cl:${run}:r${round}:${i}`);
  let ca: Cluster;
  let cb: Cluster;
  let sink: SinkProcess;
  const started = Date.now();
  let between = 0; // after round 1's conflicts, before round 2's writes
  let all: ConflictRecord[] = [];

  /** The sink stopped, the keys written in both DCs, the sink started: N more conflicts. */
  async function round(n: number): Promise<void> {
    await sink.kill('SIGTERM');
    const keys = keysOf(n);
    await Promise.all([...keys.map((k) => ca.set(k, `x-${k}`)), ...keys.map((k) => cb.set(k, `y-${k}`))]);
    sink = await sink.restart();
    procs.push(sink);
    await waitUntil(`round ${n}'s conflicts`, async () => (await metricSum(sink, 'tandem_sink_conflicts_total', { peer: y })) >= N, 20_000, 200, () => sink.log().slice(-2000));
  }

  beforeAll(async () => {
    ca = clusterClient('a', { autoPipelining: true });
    cb = clusterClient('b', { autoPipelining: true });
    await createDcTopics(x);
    await createDcTopics(y);
    const sx = await startSource({ dc: x, cluster: 'a' });
    const sy = await startSource({ dc: y, cluster: 'b' });
    procs.push(sx, sy);
    // y's writes must carry a known stamp, or no conflict is asserted on them.
    await waitStampsKnown(sy, 20_000);
    // Started once so its group starts at the beginning of y's topic, then stopped by each round.
    sink = await startSink({ dc: x, cluster: 'a', peers: [y], sinkLines: ['conflicts: report'] });
    procs.push(sink);
    await round(1);
    await sleep(200); // the producer's linger: round 1's records are sent, detection times are behind us
    between = Date.now();
    await sleep(5);
    await round(2);
    await waitUntil('both rounds in the conflicts topic', async () => {
      all = [];
      await readTopicToEnd(kafka(), { topic: topicsOf(x).conflicts }, (m) => all.push(decodeConflictRecord(m.value)));
      return all.length >= 2 * N;
    }, 10_000);
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    ca?.disconnect();
    cb?.disconnect();
  });

  test('the topic holds one record per key and round, round 1 detected before the mark and round 2 after', () => {
    expect(all).toHaveLength(2 * N);
    expect(all.map((r) => r.key).sort()).toEqual([...keysOf(1), ...keysOf(2)].sort());
    for (const r of all) expect(r.detectedAt < between).toBe(r.key.includes(':r1:'));
  });

  test('--json with a key pattern and a time range lists exactly those records, whole, in detection order', async () => {
    const pattern = `cl:${run}:r*:[0-4]`;
    // In the topic's order, stably sorted by detection time: the CLI's order.
    const expected = (from: number, to: number) =>
      all.filter((r) => r.detectedAt >= from && r.detectedAt < to && globMatch(Buffer.from(pattern), Buffer.from(r.key))).sort((a, b) => a.detectedAt - b.detectedAt);

    const r2 = await runCli(['conflicts', '--dc', x, '--since', iso(between), '--key', pattern, '--json', '--brokers', brokers()], { timeoutMs: 20_000 });
    expect(r2.stderr).toBe('');
    expect(r2.status).toBe(0);
    const got2 = JSON.parse(r2.stdout) as ConflictRecord[];
    expect(got2.map((r) => r.key).sort()).toEqual(keysOf(2).slice(0, 5));
    expect(got2).toEqual(expected(between, Infinity));
    for (const r of got2) {
      r.local.command[0] = r.local.command[0].toUpperCase(); // as ioredis sent it
      r.peerWrite.command[0] = r.peerWrite.command[0].toUpperCase();
      expect(r).toMatchObject({ dc: x, peer: y, field: null });
      expect(r.local).toMatchObject({ origin: x, command: ['SET', r.key, `x-${r.key}`], class: 'overwrite', truncated: false });
      expect(r.peerWrite).toMatchObject({ origin: y, command: ['SET', r.key, `y-${r.key}`], class: 'overwrite', truncated: false });
    }

    const r1 = await runCli(['conflicts', '--dc', x, '--since', iso(started), '--until', iso(between), '--key', pattern, '--json', '--brokers', brokers()], { timeoutMs: 20_000 });
    expect(r1.status).toBe(0);
    const got1 = JSON.parse(r1.stdout) as ConflictRecord[];
    expect(got1.map((r) => r.key).sort()).toEqual(keysOf(1).slice(0, 5));
    expect(got1).toEqual(expected(started, between));

    const none = await runCli(['conflicts', '--dc', x, '--since', iso(started - 60_000), '--until', iso(started), '--json', '--brokers', brokers()], { timeoutMs: 20_000 });
    expect([none.status, none.stdout]).toEqual([0, '[]\n']);
    expect(none.stderr).toMatch(/^tandem: no conflicts detected .*; read \d+ records of tandem\.clx\w+\.conflicts/);
  });

  test('the readable form: two lines per conflict, both origins, capture times and values', async () => {
    const r = await runCli(['conflicts', '--dc', x, '--key', `cl:${run}:r2:3`, '--brokers', brokers()], { timeoutMs: 20_000 });
    expect(r.status).toBe(0);
    const k = `cl:${run}:r2:3`;
    const rec = all.find((c) => c.key === k)!;
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^DETECTED +KEY +ORIGIN +CAPTURED +COMMAND$/);
    expect(lines[1]).toMatch(new RegExp(`^${iso(rec.detectedAt)} +${k} +${x} +${iso(rec.local.capturedAt)} +SET ${k} x-${k}$`));
    expect(lines[2]).toMatch(new RegExp(`^ +${y} +${iso(rec.peerWrite.capturedAt)} +SET ${k} y-${k}$`));
    expect(r.stderr).toMatch(/^1 conflict detected .* key "cl:\w+:r2:3"; read \d+ records of /);
  });

  test('a DC without a conflicts topic: one line naming it and how to create it, exit 1', async () => {
    const r = await runCli(['conflicts', '--dc', `nosuch${run}`, '--brokers', brokers()], { timeoutMs: 20_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`tandem: topic tandem.nosuch${run}.conflicts does not exist: is the DC name right? Topics created before conflict detection lack it; \`tandem topics init --dc nosuch${run}\` adds it (idempotent), and sinks with sink.conflicts: report write to it\n`);
  });
});
