import Redis, { type Cluster } from 'ioredis';
import { markerKey } from '../../../services/shared/marker';
import { keySlot } from '../../../services/shared/slot';
import { counterDiffs, dlqRecords, metricLines, metricSum, verifyClusters, waitCounters } from '../../harness/topology-assert';
import { fillSlots, startTopologyStack, startLoad, type LoadHandle, type TopologyStack } from '../../harness/topology-stack';
import { startSink, type SinkProcess } from '../../harness/sink-process';
import { createDcTopics, sleep, startSource, type SourceProcess } from '../../harness/source-process';

/**
 * Issue 11, item 4 and the acceptance scenario "Reshard of the target": a
 * source on dedicated cluster A, a sink applying A's writes into dedicated
 * cluster B, clients writing in both DCs (each its own keys, over every
 * slot), and while the sink applies, `redis-cli --cluster reshard` moves 600
 * slots of B, keys and marker keys included, from one master to another.
 * The sink meets MOVED, ASK and TRYAGAIN inside its pipelined MULTI/EXEC
 * blocks. Nothing may be lost, applied twice, sent to the DLQ or stall:
 * `tandem verify` finds A's keys identical in B, every counter in B holds
 * exactly the INCRs acknowledged in A, and the sink's DLQ is empty.
 *
 * Both directions run (a source and a sink per DC), so B's reshard is also
 * the source side for source(B) (its RESTORE-ASKING and MIGRATE DELs must not
 * reach A): B's own keys end identical in A too, with exact counters.
 */
const run = Date.now().toString(36);
const A = `tra-${run}`;
const B = `trb-${run}`;
const SLOTS_MOVED = 600;

describe('issue 11: reshard of the target cluster while the sink applies', () => {
  let stack: TopologyStack | undefined;
  const procs: (SourceProcess | SinkProcess)[] = [];
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

  test(`move ${SLOTS_MOVED} slots of B between masters under load: B ends identical to A, counters exact, DLQ empty`, async () => {
    const s = stack!;
    await createDcTopics(A);
    await createDcTopics(B);
    const source = await startSource({ dc: A, cluster: s.a.seeds });
    procs.push(source);
    const sink = await startSink({ dc: B, cluster: s.b.seeds, peers: [A] });
    procs.push(sink);
    const sourceB = await startSource({ dc: B, cluster: s.b.seeds });
    procs.push(sourceB);
    const sinkA = await startSink({ dc: A, cluster: s.a.seeds, peers: [B] });
    procs.push(sinkA);
    ca = s.a.client();
    cb = s.b.client();
    const prefixA = `tr-${run}-a`;
    const prefixB = `tr-${run}-b`;
    // redis-cli moves the source master's lowest slots first: those are the ones that will migrate.
    const [from, to] = await s.b.masters();
    const moving = from.ranges.flatMap(([x, y]) => Array.from({ length: y - x + 1 }, (_, i) => x + i)).slice(0, SLOTS_MOVED);
    // B's own keys in those slots (100 a slot), so each slot stays migrating for several MIGRATE calls.
    await fillSlots(cb, `${prefixB}:fill`, moving, 100);
    // Half of A's writes (so half of what the sink applies) and a third of B's go to the moving slots.
    load = startLoad(
      [
        { name: A, cluster: ca, prefix: prefixA },
        { name: B, cluster: cb, prefix: prefixB },
      ],
      { hot: { [A]: { slots: moving, share: 0.5 }, [B]: { slots: moving, share: 0.3 } } },
    );

    // The sink is applying before the reshard starts.
    const deadline = Date.now() + 60_000;
    while ((await metricSum(sink, 'tandem_sink_events_applied_total')) < 2000 && Date.now() < deadline) await sleep(250);
    const appliedBefore = await metricSum(sink, 'tandem_sink_events_applied_total');
    expect(appliedBefore).toBeGreaterThanOrEqual(2000);

    const started = Date.now();
    await s.b.reshard({ from: from.id, to: to.id, slots: SLOTS_MOVED });
    const reshardMs = Date.now() - started;
    const appliedDuring = (await metricSum(sink, 'tandem_sink_events_applied_total')) - appliedBefore;
    const after = await s.b.masters();
    expect(after.find((m) => m.id === from.id)!.slots).toBe(from.slots - SLOTS_MOVED);
    expect(after.find((m) => m.id === to.id)!.slots).toBe(to.slots + SLOTS_MOVED);

    await sleep(3000); // writes go on against the new layout
    const [resA, resB] = await load.stop();
    load = undefined;
    process.stderr.write(
      `[target-reshard] reshard of ${SLOTS_MOVED} slots took ${reshardMs} ms; the sink applied ${appliedDuring} events meanwhile; ` +
        `load: ${resA.incrs} INCR + ${resA.sets} SET in A, ${resB.incrs} INCR + ${resB.sets} SET in B, refused (redirects) ${resA.refused}/${resB.refused}\n`,
    );
    expect(appliedDuring).toBeGreaterThan(0);
    for (const r of [resA, resB]) {
      expect(r.errors).toEqual([]);
      expect([...r.uncertain.keys()]).toEqual([]);
    }

    // B holds exactly what was issued in A; so does A.
    const inB = await waitCounters(cb, resA, 120_000, procs);
    const logs = () => procs.map((p) => `--- ${p.logFile}\n${p.log().slice(-3000)}`).join('\n');
    const retries = await metricLines(sink, 'tandem_sink_apply_retries_total');
    process.stderr.write(`[target-reshard] sink retries: ${retries.join(', ') || 'none'}\n`);
    const wrongInB = counterDiffs(resA, inB);
    if (wrongInB.length > 0) throw new Error(`${wrongInB.length} counters in B differ from the INCRs issued in A:\n${wrongInB.slice(0, 20).join('\n')}\n${logs()}`);
    expect(counterDiffs(resA, await waitCounters(ca, resA, 10_000))).toEqual([]);
    // The other direction: B's writes, made while B was resharded, reach A once each.
    expect(counterDiffs(resB, await waitCounters(ca, resB, 120_000, procs))).toEqual([]);
    expect(counterDiffs(resB, await waitCounters(cb, resB, 10_000))).toEqual([]);
    for (const p of procs) expect(p.proc.exitCode).toBeNull();

    // Marker keys moved with their slots: the new owner of the moved slots holds A's markers.
    const markerOwner = new Redis({ host: to.host, port: to.port });
    try {
      const toSlots = new Set((await s.b.masters()).find((m) => m.id === to.id)!.ranges.flatMap(([x, y]) => Array.from({ length: y - x + 1 }, (_, i) => x + i)));
      const movedNow = moving.filter((slot) => toSlots.has(slot));
      expect(movedNow.length).toBe(SLOTS_MOVED);
      const present = await Promise.all(movedNow.map((slot) => markerOwner.exists(markerKey(slot, A))));
      const withMarker = present.filter((n) => n === 1).length;
      expect(keySlot(markerKey(movedNow[0], A))).toBe(movedNow[0]);
      // A wrote hot keys in every moved slot, so every one of them carries A's marker.
      expect(withMarker).toBe(SLOTS_MOVED);
    } finally {
      markerOwner.disconnect();
    }

    // tandem verify: A's keys are identical in B.
    const report = await verifyClusters(await s.a.liveUrl(), await s.b.liveUrl(), `${prefixA}:*`);
    if (!report.ok) throw new Error(`tandem verify found ${report.diffs.length} differences: ${JSON.stringify(report.diffs.slice(0, 10))}\n${logs()}`);
    expect(report.compared).toBeGreaterThan(resA.counterKeys.length);
    expect(report.scanned.a).toBe(report.scanned.b);

    // Nothing went to the DLQ.
    const reportB = await verifyClusters(await s.a.liveUrl(), await s.b.liveUrl(), `${prefixB}:*`);
    if (!reportB.ok) throw new Error(`tandem verify found ${reportB.diffs.length} differences in B's keys: ${JSON.stringify(reportB.diffs.slice(0, 10))}\n${logs()}`);
    // Source B saw the reshard as migration traffic, in and out alike.
    const movedIn = await metricSum(sourceB, 'tandem_source_migrated_keys_total', { direction: 'in' });
    expect(movedIn).toBeGreaterThan(0);
    expect(await metricSum(sourceB, 'tandem_source_migrated_keys_total', { direction: 'out' })).toBe(movedIn);

    expect(await metricSum(sink, 'tandem_sink_dlq_total')).toBe(0);
    expect(await dlqRecords(B)).toEqual([]);
    expect(await metricSum(sinkA, 'tandem_sink_dlq_total')).toBe(0);
    expect(await dlqRecords(A)).toEqual([]);
  }, 600_000);
});
