import type { Cluster } from 'ioredis';
import { expectTwoWayConverged, metricLines, metricSum, restoreAskingCalls, startBothWaysOn } from '../../harness/topology-assert';
import { fillSlots, startLoad, startTopologyStack, type LoadHandle, type TopologyStack } from '../../harness/topology-stack';
import { sleep, type SourceProcess } from '../../harness/source-process';

/**
 * Issue 11, acceptance "Reshard in a": move at least 500 slots from one
 * master of a to another (`redis-cli --cluster reshard … --cluster-yes`)
 * while clients write both ways, with a source and a sink in each DC. Ends
 * with `tandem verify` showing the clusters identical, INCR counters exactly
 * equal to the counts issued, and empty DLQs; the migration metric counts
 * the moved keys.
 */
const run = Date.now().toString(36);
const A = `sra-${run}`;
const B = `srb-${run}`;
const SLOTS_MOVED = 600;

describe('issue 11: reshard in a while clients write both ways', () => {
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

  test(`move ${SLOTS_MOVED} slots between masters of a under two-way load: identical clusters, exact counters, empty DLQs, moved keys counted`, async () => {
    const s = stack!;
    const { sourceA, sinkA, sinkB } = await startBothWaysOn({ dc: A, seeds: s.a.seeds }, { dc: B, seeds: s.b.seeds }, procs);
    ca = s.a.client();
    cb = s.b.client();
    const [from, to] = await s.a.masters();
    const moving = from.ranges.flatMap(([x, y]) => Array.from({ length: y - x + 1 }, (_, i) => x + i)).slice(0, SLOTS_MOVED);
    // Keys in the moving slots of a before the load (they replicate to b too), so each slot migrates over several MIGRATE calls.
    await fillSlots(ca, `ts-${run}-a:fill`, moving, 20);
    // Both DCs write into the moving slots too: a's clients directly, b's through sink(a).
    load = startLoad(
      [
        { name: A, cluster: ca, prefix: `ts-${run}-a` },
        { name: B, cluster: cb, prefix: `ts-${run}-b` },
      ],
      { hot: { [A]: { slots: moving, share: 0.4 }, [B]: { slots: moving, share: 0.4 } } },
    );
    const deadline = Date.now() + 60_000;
    while (Math.min(await metricSum(sinkA, 'tandem_sink_events_applied_total'), await metricSum(sinkB, 'tandem_sink_events_applied_total')) < 1000 && Date.now() < deadline) await sleep(250);

    const started = Date.now();
    await s.a.reshard({ from: from.id, to: to.id, slots: SLOTS_MOVED });
    const reshardMs = Date.now() - started;
    const after = await s.a.masters();
    expect(after.find((m) => m.id === from.id)!.slots).toBe(from.slots - SLOTS_MOVED);

    await sleep(3000);
    const [resA, resB] = await load.stop();
    load = undefined;
    process.stderr.write(`[source-reshard] reshard of ${SLOTS_MOVED} slots took ${reshardMs} ms; load ${resA.incrs}+${resA.sets} in a, ${resB.incrs}+${resB.sets} in b\n`);

    await expectTwoWayConverged({
      a: resA,
      b: resB,
      clients: { a: ca, b: cb },
      urls: { a: await s.a.liveUrl(), b: await s.b.liveUrl() },
      dcs: { a: A, b: B },
      match: `ts-${run}-*`,
      procs,
    });

    // The migration metric counts the moved keys: every key RESTORE-ASKING brought into a master of a, and every DEL of MIGRATE.
    const moved = await restoreAskingCalls(s.a);
    expect(moved).toBeGreaterThanOrEqual(SLOTS_MOVED * 20);
    const lines = await metricLines(sourceA, 'tandem_source_migrated_keys_total');
    process.stderr.write(`[source-reshard] ${moved} keys moved (RESTORE-ASKING calls); ${lines.join(', ') || 'no tandem_source_migrated_keys_total'}\n`);
    expect(await metricSum(sourceA, 'tandem_source_migrated_keys_total', { direction: 'in' })).toBe(moved);
    expect(await metricSum(sourceA, 'tandem_source_migrated_keys_total', { direction: 'out' })).toBe(moved);
    for (const p of procs) expect(p.proc.exitCode).toBeNull();
  }, 600_000);
});
