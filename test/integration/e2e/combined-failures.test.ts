import type { Cluster } from 'ioredis';
import { restartRedisNode } from '../../../services/cli/stack/stack';
import { waitForClusterOk } from '../../../services/cli/stack/redis-cluster';
import { slotTag } from '../../../services/shared/slot-tags';
import { readTopology } from '../../../services/shared/topology/read-topology';
import type { Shard } from '../../../services/shared/topology/shard';
import { compareClusters } from '../../harness/cluster-compare';
import { killMasterSafely } from '../../harness/kill-master';
import { clusterClient, testEndpoints } from '../../harness/endpoints';
import { TEST_STATE_DIR } from '../../harness/global-setup';
import { startSink, type SinkProcess } from '../../harness/sink-process';
import { createDcTopics, sleep, startSource, type SourceProcess } from '../../harness/source-process';

/**
 * Combined failures in one run, both directions replicating: while clients
 * write INCR and RPUSH (with sequence numbers) into cluster a (and some into
 * cluster b), source(a) is SIGKILLed and restarted, sink(b) is SIGKILLed and
 * restarted, a master of cluster b (the target of sink(b)) is SIGKILLed under
 * the running sink(b), and sink(b) is SIGKILLed again and restarted while that
 * shard fails over. Afterwards cluster b holds exactly what was
 * issued in a: every counter equals its INCR count and every list its pushes,
 * in order; nothing lost or doubled. And both clusters agree on every key of
 * the run (DUMP + PTTL).
 *
 * As in source-failover.test.ts, writes to the victim are paused (CLIENT PAUSE
 * WRITE) and its replica caught up before the kill, so Redis itself loses no
 * acknowledged write (asynchronous replication can lose a write acked just
 * before a crash: Redis's behaviour, which would make the test ambiguous).
 * The sink's EXECs to the victim hang in the pause and then lose their
 * connection: it must re-read the marker on the promoted replica and resend.
 */
const A = 'cfa';
const B = 'cfb';
const local = process.env.TANDEM_TEST_STACK_STARTED === 'local';


/** Retries a client write through a failover, within a bound. */
async function retry<T>(op: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

(local ? describe : describe.skip)('e2e: source, sink and a target master killed in one run (needs the local stack)', () => {
  const procs: { current: SourceProcess | SinkProcess }[] = [];
  let ca: Cluster | undefined;
  let cb: Cluster | undefined;
  let killedPort: number | undefined;
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.current.kill('SIGTERM')));
    ca?.disconnect();
    cb?.disconnect();
    // Bring the killed node back (it rejoins as a replica), leaving cluster b whole for other tests.
    if (killedPort !== undefined) {
      restartRedisNode(TEST_STATE_DIR, killedPort);
      await waitForClusterOk({ name: 'b', basePort: testEndpoints().redisB[0].port, masters: 3, replicasPerMaster: 1, dir: '' }, 60_000);
    }
  }, 120_000);

  test('SIGKILL source(a), SIGKILL sink(b), SIGKILL a master of b: b ends with exactly what a was sent', async () => {
    await createDcTopics(A);
    await createDcTopics(B);
    const sourceA = { current: (await startSource({ dc: A, cluster: 'a' })) as SourceProcess };
    const sourceB = { current: (await startSource({ dc: B, cluster: 'b' })) as SourceProcess };
    const sinkA = { current: (await startSink({ dc: A, cluster: 'a', peers: [B] })) as SinkProcess };
    const sinkB = { current: (await startSink({ dc: B, cluster: 'b', peers: [A] })) as SinkProcess };
    procs.push(sourceA, sourceB, sinkA, sinkB);
    ca = clusterClient('a');
    cb = clusterClient('b');
    const clientA = ca;
    const clientB = cb;
    const run = `${Date.now()}`;
    const pa = `cf-${run}-a`;
    const pb = `cf-${run}-b`;
    // Keys over many slots, so every master of b (the victim's shard too) receives applies.
    const KEYS = 24;
    const tag = (k: number) => slotTag((k * 3391 + 7) % 16384);
    const counterA = (k: number) => `${pa}:{${tag(k)}}:c`;
    const listA = (k: number) => `${pa}:{${tag(k)}}:l`;
    const counterB = (k: number) => `${pb}:{${tag(k)}}:c`;
    const listB = (k: number) => `${pb}:{${tag(k)}}:l`;

    // Writes into a: cluster a is never disturbed, so every write is acknowledged once, no retry.
    let writing = true;
    const issuedIncrs = new Array<number>(KEYS).fill(0);
    const issuedPushes = Array.from({ length: KEYS }, () => [] as string[]);
    const writerA = (async () => {
      for (let round = 0; writing && round < 100_000; round++) {
        const ops: Promise<unknown>[] = [];
        for (let k = 0; k < KEYS; k++) {
          const s = `${round}`;
          ops.push(clientA.incr(counterA(k)), clientA.rpush(listA(k), s));
          issuedIncrs[k]++;
          issuedPushes[k].push(s);
        }
        await Promise.all(ops);
        await sleep(5);
      }
    })();
    // Writes into b, retried through the failover (so not exactly countable: checked by a == b).
    const writerB = (async () => {
      for (let round = 0; writing && round < 100_000; round++) {
        const ops: Promise<unknown>[] = [];
        for (let k = 0; k < KEYS; k += 3) {
          ops.push(retry(() => clientB.incr(counterB(k))), retry(() => clientB.rpush(listB(k), `${round}`)));
        }
        await Promise.all(ops);
        await sleep(20);
      }
    })();

    // 1. SIGKILL source(a) mid-stream and restart it: it resumes from its Kafka checkpoints.
    await sleep(2000);
    await sourceA.current.kill('SIGKILL');
    await sleep(500);
    sourceA.current = await startSource({ dc: A, cluster: 'a' });

    // 2. SIGKILL sink(b) and restart it: it resumes from its committed offsets, its markers skip re-read events.
    await sleep(1000);
    await sinkB.current.kill('SIGKILL');
    sinkB.current = await (sinkB.current as SinkProcess).restart();

    // 3. A master of b, paused and caught up by its replica, SIGKILLed under the running sink(b).
    await sleep(1000);
    const shards = await readTopology(testEndpoints().redisB);
    const victim: Shard = shards[0];
    await killMasterSafely(victim);
    killedPort = victim.master.port;
    // Its transactions for the victim's slots fail (connection lost, then refused): it retries.
    let retries = 0;
    for (let i = 0; i < 50 && retries === 0; i++) {
      await sleep(100);
      retries = (await sinkB.current.metric('tandem_sink_apply_retries_total')).reduce((x, y) => x + y, 0);
    }

    // 4. While the shard fails over, SIGKILL sink(b) again: the new one starts against a cluster in failover.
    await sinkB.current.kill('SIGKILL');
    sinkB.current = await (sinkB.current as SinkProcess).restart();

    for (let i = 0; i < 200; i++) {
      const now = await readTopology(testEndpoints().redisB).catch(() => [] as Shard[]);
      if (now.some((s) => s.master.port === victim.replicas[0].port)) break;
      await sleep(100);
    }
    await sleep(3000);
    writing = false;
    await Promise.all([writerA, writerB]);
    const totalIncrs = issuedIncrs.reduce((x, y) => x + y, 0);
    expect(totalIncrs).toBeGreaterThan(1000);

    // Converge: b holds exactly what was issued in a.
    const snapshot = async () => ({
      counters: await Promise.all(Array.from({ length: KEYS }, async (_, k) => Number(await clientB.get(counterA(k))))),
      lists: await Promise.all(Array.from({ length: KEYS }, (_, k) => clientB.lrange(listA(k), 0, -1))),
    });
    let inB = await snapshot();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      for (const p of procs) {
        if (p.current.proc.exitCode !== null) throw new Error(`${p.current.logFile} exited with ${p.current.proc.exitCode}:\n${p.current.log().slice(-3000)}`);
      }
      if (inB.counters.every((v, k) => v >= issuedIncrs[k]) && inB.lists.every((l, k) => l.length >= issuedPushes[k].length)) break;
      await sleep(1000);
      inB = await snapshot();
    }
    await sleep(2000); // nothing more may arrive after convergence
    inB = await snapshot();
    const logs = () => procs.map((p) => `--- ${p.current.logFile}\n${p.current.log().slice(-1500)}`).join('\n');
    if (inB.counters.some((v, k) => v !== issuedIncrs[k])) {
      throw new Error(`counters in b ${JSON.stringify(inB.counters)} != issued ${JSON.stringify(issuedIncrs)}\n${logs()}`);
    }
    expect(inB.counters).toEqual(issuedIncrs);
    expect(inB.lists).toEqual(issuedPushes);
    // And a holds the same (a was never disturbed).
    for (let k = 0; k < KEYS; k++) expect(await clientA.lrange(listA(k), 0, -1)).toEqual(issuedPushes[k]);

    // Every key of the run agrees, both directions (b's own writes reached a through sink(a)).
    let last = { keys: 0, diffs: ['not compared yet'] };
    const deadline2 = Date.now() + 60_000;
    while (Date.now() < deadline2) {
      last = await compareClusters(clientA, clientB, `cf-${run}-*`);
      if (last.diffs.length === 0) break;
      await sleep(1000);
    }
    if (last.diffs.length > 0) throw new Error(`${last.diffs.length} keys differ: ${last.diffs.slice(0, 10).join('\n')}\n${logs()}`);
    expect(last.keys).toBe(2 * KEYS + 2 * Math.ceil(KEYS / 3)); // a counter and a list per key written in a, and per third key in b

    // The failures did happen as planned, and nothing went to the DLQ.
    // source(a) resumed from its checkpoints; source(b) followed the failover of b without a full resync.
    expect(sourceA.current.log()).toContain('partial resync (+CONTINUE)');
    expect(sourceA.current.log()).not.toContain('FULL RESYNC');
    const logB = sourceB.current.log();
    expect(logB).toContain('shard has a new master (failover)');
    const afterFailover = logB.slice(logB.indexOf('shard has a new master (failover)'));
    expect(afterFailover).toContain('partial resync (+CONTINUE)');
    expect(afterFailover).not.toContain('FULL RESYNC');
    // sink(b) met the dead master and retried its transactions through the failover.
    expect(retries).toBeGreaterThan(0);
    const dlq = await sinkB.current.metric('tandem_sink_dlq_total');
    expect(dlq.reduce((x, y) => x + y, 0)).toBe(0);
  }, 300_000);
});
