import type { Cluster } from 'ioredis';
import { slotTag } from '../../../services/shared/slot-tags';
import { clusterClient } from '../../harness/endpoints';
import { type SinkProcess, startOneWay, startSink } from '../../harness/sink-process';
import { sleep, type SourceProcess } from '../../harness/source-process';

/**
 * Issue 12, one applier per partition: two sinks of one group share the
 * partitions while INCRs flow a → b. The first is frozen (SIGSTOP) in the
 * middle of its work, with fetched batches and cached markers in memory; the
 * group expels it after the session timeout and the second sink takes its
 * partitions and applies them from the last committed offset. Then the first
 * is thawed (SIGCONT): it goes on with the batches it held, which the second
 * has applied meanwhile. Its marker check and its apply are one atomic step
 * (WATCH + check, MULTI … EXEC), so those blocks do not run (EXEC nil), it
 * re-reads the markers and skips. No INCR is applied twice: b's counters end
 * equal to a's, exactly.
 */
const SRC = 'fza';
const DST = 'fzb';

describe('sink: a frozen sink that lost its partitions applies nothing twice', () => {
  let source: SourceProcess | undefined;
  const sinks: SinkProcess[] = [];
  let ca: Cluster | undefined;
  let cb: Cluster | undefined;
  afterAll(async () => {
    for (const s of sinks) {
      s.proc.kill('SIGCONT');
      await s.kill('SIGTERM');
    }
    await source?.kill('SIGTERM');
    ca?.disconnect();
    cb?.disconnect();
  });

  test('SIGSTOP one of two sinks, its partitions move, SIGCONT: counters exact', async () => {
    const oneWay = await startOneWay(SRC, DST);
    source = oneWay.source;
    sinks.push(oneWay.sink);
    sinks.push(await startSink({ dc: DST, cluster: 'b', peers: [SRC] }));
    const [frozen, other] = sinks;
    ca = clusterClient('a');
    cb = clusterClient('b');
    const run = Date.now().toString(36);
    const KEYS = 64; // over every partition of the 16
    const counters = Array.from({ length: KEYS }, (_, k) => `fz:${run}:{${slotTag((k * 256 + 11) % 16384)}}:c`);
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await Promise.all(counters.map((k) => ca!.incr(k)));
        await sleep(5);
      }
    })();
    // Both sinks own partitions and apply.
    const owned = async (s: SinkProcess) => (await s.metric('tandem_sink_assigned_partitions')).reduce((a, b) => a + b, 0);
    for (let i = 0; i < 60 && ((await owned(frozen)) === 0 || (await owned(other)) === 0); i++) await sleep(500);
    expect(await owned(frozen)).toBeGreaterThan(0);
    await sleep(3000);

    frozen.proc.kill('SIGSTOP');
    // The group expels it (session timeout 6 s) and the other sink takes every partition.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (await owned(other)) < 16) await sleep(500);
    expect(await owned(other)).toBe(16);
    await sleep(3000); // the other sink applies what the frozen one held, and more
    frozen.proc.kill('SIGCONT');
    await sleep(8000); // the thawed sink runs its stale batches, then rejoins
    writing = false;
    await writer;

    const expected = await Promise.all(counters.map(async (k) => Number(await ca!.get(k))));
    const until = Date.now() + 90_000;
    let got: number[] = [];
    while (Date.now() < until) {
      got = await Promise.all(counters.map(async (k) => Number(await cb!.get(k))));
      if (got.every((v, i) => v >= expected[i])) break;
      await sleep(500);
    }
    await sleep(2000);
    got = await Promise.all(counters.map(async (k) => Number(await cb!.get(k))));
    expect(got).toEqual(expected);
    const aborts = (await frozen.metric('tandem_sink_guard_aborts_total')).reduce((a, b) => a + b, 0);
    process.stderr.write(`frozen sink: guard aborts after SIGCONT=${aborts}\n`);
    // Exact counters are the proof that nothing applied twice. Whether the thawed sink still had a
    // stale block to send (refused by the guard) depends on where SIGSTOP caught it: seen with 32
    // aborts, and in one clean-clone CI run with 0 and exact counters. A run with 0 says so here.
    if (aborts === 0) process.stderr.write('frozen sink: this run had no stale block in flight; the guard was not exercised\n');
  }, 240_000);
});
