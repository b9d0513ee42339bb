import type { Cluster } from 'ioredis';
import { decodeConflictRecord, type ConflictRecord } from '../../../services/shared/conflict-record';
import { topicsOf } from '../../../services/shared/kafka-client';
import { readTopicToEnd } from '../../../services/shared/topic-reader';
import { clusterClient } from '../../harness/endpoints';
import type { SinkProcess } from '../../harness/sink-process';
import { kafka, sleep, type SourceProcess } from '../../harness/source-process';
import { metricSum, startStampedBothWays, waitUntil } from '../../harness/topology-assert';

/**
 * Issue 13, acceptance of detection (sink.conflicts: report): DC x on
 * cluster a and DC y on cluster b, both ways, each sink following its own
 * DC's topic.
 * - Causal writes are never conflicts: a SET in x, seen in y, then a SET in y
 *   of the same key, for 10,000 keys (in waves of 500): every check is causal.
 * - Forced concurrency: both sinks stopped, the same 1000 keys written in x
 *   and in y with different values, the sinks started: exactly 1000 conflict
 *   records in each DC's conflicts topic, each with both values.
 */
const SINK_LINES = ['conflicts: report'];



async function readConflicts(dc: string): Promise<ConflictRecord[]> {
  const out: ConflictRecord[] = [];
  await readTopicToEnd(kafka(), { topic: topicsOf(dc).conflicts, timeoutMs: 60_000 }, (m) => out.push(decodeConflictRecord(m.value)));
  return out;
}

async function getAll(c: Cluster, keys: string[]): Promise<(string | null)[]> {
  return Promise.all(keys.map((k) => c.get(k)));
}

describe('sink: conflict detection (sink.conflicts: report)', () => {
  let ca: Cluster;
  let cb: Cluster;
  beforeAll(() => {
    ca = clusterClient('a', { autoPipelining: true });
    cb = clusterClient('b', { autoPipelining: true });
  });
  afterAll(() => {
    ca?.disconnect();
    cb?.disconnect();
  });

  describe('causal writes', () => {
    const procs: (SourceProcess | SinkProcess)[] = [];
    afterAll(async () => {
      await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    });

    test('a SET in x, seen in y, then a SET in y of the same key: 10,000 pairs, zero conflicts, every check causal', async () => {
      const run = Date.now().toString(36);
      const [x, y] = [`cfx${run}`, `cfy${run}`];
      const { kx, ky } = await startStampedBothWays(x, y, procs, SINK_LINES);

      const waves = 20;
      const perWave = 500;
      for (let w = 0; w < waves; w++) {
        const keys = Array.from({ length: perWave }, (_, i) => `cf:${run}:causal:${w}:${i}`);
        await Promise.all(keys.map((k) => ca.set(k, `x-${k}`)));
        await waitUntil(`wave ${w} of x's writes in y`, async () => (await getAll(cb, keys)).every((v, i) => v === `x-${keys[i]}`), 30_000, 200, () => ky.log().slice(-2000));
        await Promise.all(keys.map((k) => cb.set(k, `y-${k}`)));
      }
      const last = Array.from({ length: perWave }, (_, i) => `cf:${run}:causal:${waves - 1}:${i}`);
      await waitUntil("y's last writes in x", async () => (await getAll(ca, last)).every((v, i) => v === `y-${last[i]}`), 30_000);

      const pairs = waves * perWave;
      // Every applied write is judged when its marker comes back through the own topic.
      await waitUntil('every applied write judged', async () => {
        const [cx, cy] = await Promise.all([metricSum(kx, 'tandem_sink_conflict_checks_total', { result: 'causal' }), metricSum(ky, 'tandem_sink_conflict_checks_total', { result: 'causal' })]);
        return cx >= pairs && cy >= pairs;
      }, 30_000, 200, () => `${kx.log().slice(-1500)}\n${ky.log().slice(-1500)}`);
      for (const k of [kx, ky]) {
        expect(await metricSum(k, 'tandem_sink_conflicts_total')).toBe(0);
        for (const result of ['concurrent', 'unknown-stamp', 'past-window', 'dropped']) {
          expect([result, await metricSum(k, 'tandem_sink_conflict_checks_total', { result })]).toEqual([result, 0]);
        }
      }
      expect(await readConflicts(x)).toEqual([]);
      expect(await readConflicts(y)).toEqual([]);
    });
  });

  describe('forced concurrency', () => {
    const procs: (SourceProcess | SinkProcess)[] = [];
    afterAll(async () => {
      await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    });

    test('both sinks stopped, the same 1000 keys written in x and in y: exactly 1000 conflicts in each DC, each with both values', async () => {
      const run = Date.now().toString(36);
      const [x, y] = [`cfcx${run}`, `cfcy${run}`];
      let { kx, ky } = await startStampedBothWays(x, y, procs, SINK_LINES);
      await Promise.all([kx.kill('SIGTERM'), ky.kill('SIGTERM')]);

      const n = 1000;
      const keys = Array.from({ length: n }, (_, i) => `cf:${run}:same:${i}`);
      await Promise.all([...keys.map((k) => ca.set(k, `x-${k}`)), ...keys.map((k) => cb.set(k, `y-${k}`))]);

      kx = await kx.restart();
      ky = await ky.restart();
      procs.push(kx, ky);
      // Each DC ends with the other's value (applied last): the divergence the records report.
      await waitUntil('each DC applied the other\'s writes', async () => {
        const [va, vb] = await Promise.all([getAll(ca, keys), getAll(cb, keys)]);
        return va.every((v, i) => v === `y-${keys[i]}`) && vb.every((v, i) => v === `x-${keys[i]}`);
      }, 60_000);
      await waitUntil('1000 conflicts counted in each DC', async () => (await metricSum(kx, 'tandem_sink_conflicts_total', { peer: y })) >= n && (await metricSum(ky, 'tandem_sink_conflicts_total', { peer: x })) >= n, 30_000, 200, () => `${kx.log().slice(-1500)}\n${ky.log().slice(-1500)}`);
      await sleep(1000); // the producer's linger, and room for any extra one to show

      for (const [dc, peer, client, local, other] of [[x, y, kx, 'x', 'y'], [y, x, ky, 'y', 'x']] as const) {
        expect(await metricSum(client, 'tandem_sink_conflicts_total', { peer })).toBe(n);
        expect(await metricSum(client, 'tandem_sink_conflict_checks_total', { result: 'concurrent' })).toBe(n);
        const records = await readConflicts(dc);
        expect(records).toHaveLength(n);
        expect(new Set(records.map((r) => r.key))).toEqual(new Set(keys));
        for (const r of records) {
          // As the client sent it (ioredis sends command names in lower case).
          r.local.command[0] = r.local.command[0].toUpperCase();
          r.peerWrite.command[0] = r.peerWrite.command[0].toUpperCase();
          expect(r).toMatchObject({ format: 1, dc, peer, field: null, keyEncoding: 'utf8' });
          expect(r.local).toMatchObject({ origin: dc, source: dc, topic: topicsOf(dc).changes, class: 'overwrite', command: ['SET', r.key, `${local}-${r.key}`], truncated: false });
          expect(r.peerWrite).toMatchObject({ origin: peer, source: peer, topic: topicsOf(peer).changes, class: 'overwrite', command: ['SET', r.key, `${other}-${r.key}`] });
          expect(r.local.address).toMatch(/^\d+:\d+:\d+$/);
          expect(r.peerWrite.address).toMatch(/^\d+:\d+:\d+$/);
          expect(r.local.capturedAt).toBeGreaterThan(0);
          expect(r.peerWrite.capturedAt).toBeGreaterThan(0);
        }
      }
    });
  });
});
