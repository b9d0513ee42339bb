import Redis, { type Cluster } from 'ioredis';
import { restartRedisNode } from '../../../services/cli/stack/stack';
import { waitForClusterOk } from '../../../services/cli/stack/redis-cluster';
import { slotTag } from '../../../services/shared/slot-tags';
import { readTopology } from '../../../services/shared/topology/read-topology';
import { clusterClient, testEndpoints } from '../../harness/endpoints';
import { TEST_STATE_DIR } from '../../harness/global-setup';
import { type SinkProcess, startOneWay } from '../../harness/sink-process';
import { sleep, type SourceProcess } from '../../harness/source-process';

/**
 * Issue 12, durable apply: a target master lost right after its EXECs loses
 * no event. INCRs flow a → b through the sink (default sink.waitReplicas:
 * auto). On one master of b:
 *
 * 1. the master drops its replica's link (CLIENT KILL TYPE replica; the
 *    replica's reconnection fails at AUTH, a wrong masterauth set for the
 *    test) and the replica is put to sleep (DEBUG SLEEP): from then on the
 *    master acknowledges the sink's EXECs but sends them to no replica, and
 *    WAIT answers 0;
 * 2. the master is SIGKILLed a few seconds later: what it applied since is
 *    gone;
 * 3. the replica wakes and is promoted (automatic failover, or CLUSTER
 *    FAILOVER TAKEOVER if it does not start one).
 *
 * The sink never committed past the unacknowledged writes (its WAITs timed
 * out and it held those batches). When the master's connection drops, it
 * reads their markers back from the promoted replica, finds them behind what
 * it applied, and rewinds the partitions to re-apply the lost events. b's
 * counters end equal to a's, exactly. The killed node is restarted at the end
 * (it rejoins as a replica), leaving b a healthy 3+3 cluster.
 */
const SRC = 'dua';
const DST = 'dub';
const local = process.env.TANDEM_TEST_STACK_STARTED === 'local';

(local ? describe : describe.skip)('sink: durable apply across a target master lost with unreplicated writes (needs the local stack)', () => {
  let source: SourceProcess | undefined;
  let sink: SinkProcess | undefined;
  let ca: Cluster | undefined;
  let cb: Cluster | undefined;
  let restoreB: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await sink?.kill('SIGTERM');
    await source?.kill('SIGTERM');
    ca?.disconnect();
    cb?.disconnect();
    await restoreB?.();
  });

  test('replica asleep and unlinked, master SIGKILLed, replica promoted: b\'s counters equal a\'s', async () => {
    ({ source, sink } = await startOneWay(SRC, DST, ['waitTimeoutMs: 500']));
    ca = clusterClient('a');
    cb = clusterClient('b');
    const run = Date.now().toString(36);
    const KEYS = 48; // spread over every master of b
    const counters = Array.from({ length: KEYS }, (_, k) => `du:${run}:{${slotTag((k * 3391 + 7) % 16384)}}:c`);
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await Promise.all(counters.map((k) => ca!.incr(k)));
        await sleep(20);
      }
    })();
    await sleep(3000);

    const [victim] = await readTopology(testEndpoints().redisB);
    const replicaAddr = victim.replicas[0];
    const master = new Redis({ host: victim.master.host, port: victim.master.port });
    const sleeper = new Redis({ host: replicaAddr.host, port: replicaAddr.port });
    const replica = new Redis({ host: replicaAddr.host, port: replicaAddr.port, lazyConnect: true });
    restoreB = async () => {
      master.disconnect();
      sleeper.disconnect();
      replica.disconnect();
      // The killed node rejoins as a replica of the promoted one.
      restartRedisNode(TEST_STATE_DIR, victim.master.port);
      await waitForClusterOk({ name: 'b', basePort: testEndpoints().redisB[0].port, masters: 3, replicasPerMaster: 1, dir: '' }, 90_000);
      restoreB = undefined;
    };
    const SLEEP_S = 12;
    // The master drops its replica's link. Redis 7 reconnects a replica at
    // once (replicationHandleMasterDisconnection), so the replica is given a
    // wrong masterauth first: its reconnection fails at AUTH, and it sleeps.
    // From here on the master applies the sink's EXECs and sends them to no replica.
    await sleeper.call('CONFIG', 'SET', 'masterauth', 'not-the-password');
    expect(Number(await master.call('CLIENT', 'KILL', 'TYPE', 'replica'))).toBe(1);
    const sleptAt = Date.now();
    const slept = sleeper.call('DEBUG', 'SLEEP', String(SLEEP_S)).catch(() => undefined);
    await sleep(3000);
    const pid = Number(/process_id:(\d+)/.exec(await master.info('server'))?.[1]);
    process.kill(pid, 'SIGKILL');
    master.disconnect();

    // Wait for the replica to wake up, then for it to be promoted (or promote it).
    await sleep(Math.max(0, sleptAt + SLEEP_S * 1000 - Date.now()));
    await slept;
    await replica.connect();
    await replica.call('CONFIG', 'SET', 'masterauth', '');
    const promoteBy = Date.now() + 8000;
    let tookOver = false;
    for (;;) {
      const role = String(((await replica.call('ROLE')) as unknown[])[0]);
      if (role === 'master') break;
      if (!tookOver && Date.now() > promoteBy) {
        await replica.call('CLUSTER', 'FAILOVER', 'TAKEOVER');
        tookOver = true;
      }
      await sleep(200);
    }
    await sleep(5000);
    writing = false;
    await writer;
    const expected = await Promise.all(counters.map(async (k) => Number(await ca!.get(k))));
    const deadline = Date.now() + 120_000;
    let got: number[] = [];
    while (Date.now() < deadline) {
      got = await Promise.all(counters.map(async (k) => Number(await cb!.get(k).catch(() => -1))));
      if (got.every((v, i) => v >= expected[i])) break;
      await sleep(500);
    }
    await sleep(2000); // nothing more may arrive after convergence
    got = await Promise.all(counters.map(async (k) => Number(await cb!.get(k))));
    expect(got).toEqual(expected);

    const sum = async (name: string, labels?: Record<string, string>) => (await sink!.metric(name, labels)).reduce((a, b) => a + b, 0);
    const timeouts = await sum('tandem_sink_replica_waits_total', { result: 'timeout' });
    const rewinds = await sum('tandem_sink_rewinds_total');
    process.stderr.write(`durable apply: WAIT timeouts=${timeouts} rewinds=${rewinds} takeover=${tookOver}\n`);
    // The WAITs saw the replica missing (so the master applied writes its replica never got, and the
    // failover lost them), and the counters above are exact: those writes were applied again. Whether
    // that went through a rewind (a marker read back behind what was applied) or through the batch held
    // on its WAIT (its markers read back when the master's connection dropped) depends on timing: seen
    // both ways (a CI run had 0 rewinds and exact counters).
    expect(timeouts).toBeGreaterThan(0);
    if (rewinds > 0) expect(sink.log()).toContain('rewinding the partition');
    await restoreB();
  }, 300_000);
});
