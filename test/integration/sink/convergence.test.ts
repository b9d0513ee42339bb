import type { Cluster } from 'ioredis';
import { keySlot } from '../../../services/shared/slot';
import { compareClusters } from '../../harness/cluster-compare';
import { clusterClient } from '../../harness/endpoints';
import { startBothWays, type SinkProcess } from '../../harness/sink-process';
import { readEvents, sleep, type SourceProcess } from '../../harness/source-process';
import { mixedWorkload } from '../../harness/workload';

/**
 * Two DCs both ways: source(cva) on cluster a, source(cvb) on cluster b,
 * sink(cva) applying tandem.cvb.changes to a, sink(cvb) applying
 * tandem.cva.changes to b. Clients write concurrently to both clusters
 * (disjoint prefixes, every data type, TTLs, MULTI, EVAL). Afterwards every key
 * agrees (DUMP + PTTL), and nothing echoed: each INCR appears once as a local
 * write in its own DC's topic and once as a remote write in the other's.
 */
const A = 'cva';
const B = 'cvb';

describe('sink: two DCs converge both ways, without echo', () => {
  const procs: (SourceProcess | SinkProcess)[] = [];
  let ca: Cluster;
  let cb: Cluster;
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    ca?.disconnect();
    cb?.disconnect();
  });

  test('mixed concurrent writes in both DCs converge and every write is applied exactly once', async () => {
    await startBothWays(A, B, procs);
    ca = clusterClient('a');
    cb = clusterClient('b');
    const run = `${Date.now()}`;
    const pa = `cv-${run}-a`;
    const pb = `cv-${run}-b`;
    const incrs = 2000;
    const counterA = `${pa}:{ctr}:n`;
    const counterB = `${pb}:{ctr}:n`;
    const incrLoop = async (c: Cluster, key: string) => {
      for (let i = 0; i < incrs; i += 100) await Promise.all(Array.from({ length: 100 }, () => c.incr(key)));
    };
    const [wa, wb] = await Promise.all([
      mixedWorkload(ca, pa, 8000),
      mixedWorkload(cb, pb, 8000),
      incrLoop(ca, counterA),
      incrLoop(cb, counterB),
    ]);
    expect(wa.errors).toEqual([]);
    expect(wb.errors).toEqual([]);

    // Converge: poll until both clusters agree on every key of both prefixes.
    let last = { keys: 0, diffs: ['not compared yet'] };
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const ra = await compareClusters(ca, cb, `${pa}:*`);
      const rb = await compareClusters(ca, cb, `${pb}:*`);
      last = { keys: ra.keys + rb.keys, diffs: [...ra.diffs, ...rb.diffs] };
      if (last.diffs.length === 0) break;
      await sleep(1000);
    }
    if (last.diffs.length > 0) {
      throw new Error(`${last.diffs.length} keys differ, e.g. ${last.diffs.slice(0, 10).join('\n')}\n${procs[2].log().slice(-2000)}\n${procs[3].log().slice(-2000)}`);
    }
    expect(last.keys).toBeGreaterThan(1000);
    expect(Number(await ca.get(counterA))).toBe(incrs);
    expect(Number(await cb.get(counterA))).toBe(incrs);
    expect(Number(await ca.get(counterB))).toBe(incrs);
    expect(Number(await cb.get(counterB))).toBe(incrs);

    // No echo: count the INCRs of each counter per topic and origin.
    await sleep(1000); // the last applies' propagation reaches the topics
    const [eventsA, eventsB] = await Promise.all([readEvents(A), readEvents(B)]);
    const countIncrs = (events: typeof eventsA, key: string, origin: string) => {
      let n = 0;
      for (const e of events) {
        if (e.origin !== origin || e.slot !== keySlot(key)) continue;
        for (const argv of e.commands) if (argv[0].toString().toLowerCase() === 'incr' && argv[1].toString() === key) n++;
      }
      return n;
    };
    // counterA: a local write in cva's topic, a remote (origin cva) write in cvb's topic, never origin cvb.
    expect(countIncrs(eventsA, counterA, A)).toBe(incrs);
    expect(countIncrs(eventsB, counterA, A)).toBe(incrs);
    expect(countIncrs(eventsA, counterA, B)).toBe(0);
    expect(countIncrs(eventsB, counterA, B)).toBe(0);
    expect(countIncrs(eventsB, counterB, B)).toBe(incrs);
    expect(countIncrs(eventsA, counterB, B)).toBe(incrs);
    expect(countIncrs(eventsA, counterB, A)).toBe(0);
    expect(countIncrs(eventsB, counterB, A)).toBe(0);
    // The sinks' markers came back as marker events, and the sinks dropped them.
    expect(eventsB.some((e) => e.kind === 'marker' && e.origin === A)).toBe(true);
    expect(eventsA.some((e) => e.kind === 'marker' && e.origin === B)).toBe(true);
    const [droppedMarkersA] = await procs[2].metric('tandem_sink_events_dropped_total', { reason: 'marker' });
    const [droppedOwnA] = await procs[2].metric('tandem_sink_events_dropped_total', { reason: 'own-origin' });
    expect(droppedMarkersA).toBeGreaterThan(0);
    expect(droppedOwnA).toBeGreaterThan(0);
    const applied = await procs[3].metric('tandem_sink_events_applied_total', { origin: A });
    expect(applied.reduce((x, y) => x + y, 0)).toBeGreaterThan(incrs);
  });
});
