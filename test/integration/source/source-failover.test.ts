import { restartRedisNode } from '../../../services/cli/stack/stack';
import { waitForClusterOk } from '../../../services/cli/stack/redis-cluster';
import { slotTag } from '../../../services/shared/slot-tags';
import { readTopology } from '../../../services/shared/topology/read-topology';
import { killMasterSafely } from '../../harness/kill-master';
import { clusterClient, testEndpoints } from '../../harness/endpoints';
import { TEST_STATE_DIR } from '../../harness/global-setup';
import { createDcTopics, readEvents, sleep, startSource, waitCaughtUp, type SourceProcess } from '../../harness/source-process';

/**
 * Failover: a master of cluster a is SIGKILLed during a workload. The source
 * follows the promoted replica and PSYNCs it with the old replid and offset:
 * +CONTINUE, no full resync, and every command that took effect in Redis is
 * in the topic exactly once.
 *
 * Writes to the victim's shard are paused (CLIENT PAUSE WRITE) and its replica
 * caught up before the kill, so Redis itself loses no acknowledged write:
 * asynchronous replication may lose a write acked just before a crash, which
 * is Redis's behaviour, not the source's, and would make the test ambiguous.
 */
const DC = 'fover';
const local = process.env.TANDEM_TEST_STACK_STARTED === 'local';

(local ? describe : describe.skip)('source: master failover (needs the local stack to kill a node)', () => {
  let source: SourceProcess | undefined;
  afterAll(async () => {
    await source?.kill('SIGKILL');
  });

  test('a killed master: the link continues on the promoted replica with +CONTINUE, nothing lost or doubled', async () => {
    await createDcTopics(DC);
    source = await startSource({ dc: DC });
    const run = Date.now().toString(36);
    const KEYS = 48;
    const counter = (k: number) => `fo:${run}:{${slotTag((k * 3391) % 16384)}}:c`;
    const list = (k: number) => `fo:${run}:{${slotTag((k * 3391) % 16384)}}:l`;
    const cluster = clusterClient('a');
    let writing = true;
    let seq = 0;
    const retry = async (op: () => Promise<unknown>) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          return await op();
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await sleep(100);
        }
      }
    };
    const writer = (async () => {
      while (writing) {
        const batch: Promise<unknown>[] = [];
        for (let n = 0; n < 50; n++, seq++) {
          const k = seq % KEYS;
          const s = String(seq);
          batch.push(retry(() => cluster.incr(counter(k))), retry(() => cluster.rpush(list(k), s)));
        }
        await Promise.all(batch);
      }
    })();

    await sleep(2000);
    const [victim] = await readTopology(testEndpoints().redisA);
    await killMasterSafely(victim);

    // The replica takes over after cluster-node-timeout; writes resume there.
    for (let i = 0; i < 200; i++) {
      const shards = await readTopology(testEndpoints().redisA).catch(() => []);
      if (shards.some((s) => s.master.port === victim.replicas[0].port)) break;
      await sleep(100);
    }
    await sleep(3000);
    writing = false;
    await writer;
    cluster.disconnect();
    await waitCaughtUp(source, 'a');
    await source.kill('SIGTERM');

    const log = source.log();
    expect(log).toContain('shard has a new master (failover)');
    const afterFailover = log.slice(log.indexOf('shard has a new master (failover)'));
    expect(afterFailover).toContain('partial resync (+CONTINUE)');
    expect(afterFailover).not.toContain('FULL RESYNC');

    // Every write that Redis holds is in the topic exactly once, in order.
    const events = await readEvents(DC);
    const pushed = new Map<string, string[]>();
    const incrs = new Map<string, number>();
    for (const e of events) {
      for (const argv of e.commands) {
        const key = argv[1]?.toString() ?? '';
        if (!key.startsWith(`fo:${run}:`)) continue;
        if (argv[0].toString().toLowerCase() === 'rpush') pushed.set(key, [...(pushed.get(key) ?? []), ...argv.slice(2).map(String)]);
        else incrs.set(key, (incrs.get(key) ?? 0) + 1);
      }
    }
    // The workload ran across the failover, so there is something to check.
    expect([...pushed.values()].reduce((n, l) => n + l.length, 0)).toBeGreaterThan(1000);
    const check = clusterClient('a');
    try {
      for (let k = 0; k < KEYS; k++) {
        expect(pushed.get(list(k))).toEqual(await check.lrange(list(k), 0, -1));
        expect(incrs.get(counter(k))).toBe(Number(await check.get(counter(k))));
      }
    } finally {
      check.disconnect();
    }

    // Bring the killed node back: it rejoins as a replica, leaving the cluster whole for other tests.
    restartRedisNode(TEST_STATE_DIR, victim.master.port);
    await waitForClusterOk({ name: 'a', basePort: testEndpoints().redisA[0].port, masters: 3, replicasPerMaster: 1, dir: '' }, 60_000);
  });
});
