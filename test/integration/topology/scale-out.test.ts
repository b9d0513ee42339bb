import type { Cluster } from 'ioredis';
import { slotTag } from '../../../services/shared/slot-tags';
import { expectTwoWayConverged, metricLines, metricSum, restoreAskingCalls, startBothWaysOn } from '../../harness/topology-assert';
import { startLoad, startTopologyStack, type LoadHandle, type TopologyStack } from '../../harness/topology-stack';
import { sleep, type SourceProcess } from '../../harness/source-process';

/**
 * Issue 11, acceptance "Scale out in b": add a fourth master to b
 * (`redis-cli --cluster add-node`, then `rebalance
 * --cluster-use-empty-masters`) under load in both DCs. Its writes replicate
 * to a without a restart. Ends with `tandem verify` showing the clusters
 * identical, INCR counters exactly equal to the counts issued, and empty
 * DLQs; the migration metric counts the moved keys.
 */
const run = Date.now().toString(36);
const A = `soa-${run}`;
const B = `sob-${run}`;

describe('issue 11: scale out b (add-node + rebalance) under two-way load', () => {
  let stack: TopologyStack | undefined;
  const procs: SourceProcess[] = [];
  let ca: Cluster | undefined;
  let cb: Cluster | undefined;
  let load: LoadHandle | undefined;

  beforeAll(async () => {
    stack = await startTopologyStack((l) => process.stderr.write(`[topology stack] ${l}\n`));
  }, 180_000);

  afterAll(async () => {
    await load?.stop();
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    ca?.disconnect();
    cb?.disconnect();
    await stack?.stop();
  }, 120_000);

  test('a fourth master joins b under load; its writes reach a without a restart; identical clusters, exact counters, empty DLQs', async () => {
    const s = stack!;
    const { sourceB, sinkA, sinkB } = await startBothWaysOn({ dc: A, seeds: s.a.seeds }, { dc: B, seeds: s.b.seeds }, procs);
    const sourcePid = sourceB.proc.pid;
    ca = s.a.client();
    cb = s.b.client();
    load = startLoad([
      { name: A, cluster: ca, prefix: `so-${run}-a` },
      { name: B, cluster: cb, prefix: `so-${run}-b` },
    ]);
    const deadline = Date.now() + 60_000;
    while (Math.min(await metricSum(sinkA, 'tandem_sink_events_applied_total'), await metricSum(sinkB, 'tandem_sink_events_applied_total')) < 1000 && Date.now() < deadline) await sleep(250);

    const port = await s.b.startSpare();
    await s.b.addNode(port);
    const started = Date.now();
    await s.b.rebalanceUseEmptyMasters();
    const rebalanceMs = Date.now() - started;
    const masters = await s.b.masters();
    expect(masters).toHaveLength(4);
    const added = masters.find((m) => m.port === port)!;
    expect(added.slots).toBeGreaterThan(1000);

    // Writes made on the new master after the rebalance reach a, with the source never restarted.
    const fresh = added.ranges.flatMap(([x, y]) => [x, y]).slice(0, 20).map((slot, i) => `so-${run}-b:new:{${slotTag(slot)}}:${i}`);
    for (const k of fresh) await cb.set(k, `on-the-new-master-${k}`);
    const seen = Date.now() + 30_000;
    let missing = fresh;
    while (missing.length > 0 && Date.now() < seen) {
      await sleep(500);
      missing = (await Promise.all(fresh.map(async (k) => ((await ca!.get(k)) === `on-the-new-master-${k}` ? undefined : k)))).filter((k): k is string => k !== undefined);
    }
    expect(missing).toEqual([]);
    expect(sourceB.proc.pid).toBe(sourcePid);
    expect(sourceB.proc.exitCode).toBeNull();

    await sleep(3000);
    const [resA, resB] = await load.stop();
    load = undefined;
    process.stderr.write(`[scale-out] rebalance took ${rebalanceMs} ms; the new master ${port} has ${added.slots} slots; load ${resA.incrs}+${resA.sets} in a, ${resB.incrs}+${resB.sets} in b\n`);

    await expectTwoWayConverged({
      a: resA,
      b: resB,
      clients: { a: ca, b: cb },
      urls: { a: await s.a.liveUrl(), b: await s.b.liveUrl() },
      dcs: { a: A, b: B },
      match: `so-${run}-*`,
      procs,
    });

    const moved = await restoreAskingCalls(s.b);
    const lines = await metricLines(sourceB, 'tandem_source_migrated_keys_total');
    process.stderr.write(`[scale-out] ${moved} keys moved (RESTORE-ASKING calls); ${lines.join(', ') || 'no tandem_source_migrated_keys_total'}\n`);
    expect(moved).toBeGreaterThan(0);
    expect(await metricSum(sourceB, 'tandem_source_migrated_keys_total', { direction: 'in' })).toBe(moved);
    expect(await metricSum(sourceB, 'tandem_source_migrated_keys_total', { direction: 'out' })).toBe(moved);
    for (const p of procs) expect(p.proc.exitCode).toBeNull();
  }, 600_000);
});
