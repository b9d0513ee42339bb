import Redis, { type Cluster } from 'ioredis';
import { keySlot } from '../../../services/shared/slot';
import { slotTag } from '../../../services/shared/slot-tags';
import { readTopology } from '../../../services/shared/topology/read-topology';
import { clusterClient, testEndpoints } from '../../harness/endpoints';
import { createDcTopics, startSink, type SinkProcess } from '../../harness/sink-process';
import { sleep, startSource, type SourceProcess } from '../../harness/source-process';

/**
 * DESIGN §5 hazard 2, "expiry echo", on the real pipeline both ways. A key
 * written in a with a TTL reaches b with the same absolute deadline; both
 * DCs expire it. The cache-aside re-fill writes it again in a, without a
 * TTL, just after it expired. b's expiry DEL, read late because sink a lags
 * (here: stopped), must not delete the new value in a: the source of b
 * publishes it as an `expiry` event, and sink a deletes only a copy that is
 * itself due, which the re-written one is not.
 *
 * Once with the expiries propagated as DEL, once as UNLINK
 * (lazyfree-lazy-expire yes), and once for a key that expires lazily, on
 * access inside a MULTI in b.
 */
const A = 'xea';
const B = 'xeb';

async function mastersOf(cluster: 'a' | 'b'): Promise<Redis[]> {
  const seeds = cluster === 'a' ? testEndpoints().redisA : testEndpoints().redisB;
  return (await readTopology(seeds)).map((s) => new Redis({ host: s.master.host, port: s.master.port }));
}

async function masterOf(cluster: 'a' | 'b', key: string): Promise<Redis> {
  const seeds = cluster === 'a' ? testEndpoints().redisA : testEndpoints().redisB;
  const slot = keySlot(key);
  const shard = (await readTopology(seeds)).find((s) => s.slots.some(([x, y]) => x <= slot && slot <= y))!;
  return new Redis({ host: shard.master.host, port: shard.master.port });
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('hazard: expiry echo', () => {
  const procs: (SourceProcess | SinkProcess)[] = [];
  const nodes: Redis[] = [];
  let sinkA: SinkProcess;
  let a: Cluster;
  let b: Cluster;
  beforeAll(async () => {
    await createDcTopics(A);
    await createDcTopics(B);
    procs.push(await startSource({ dc: A, cluster: 'a' }), await startSource({ dc: B, cluster: 'b' }));
    sinkA = await startSink({ dc: A, cluster: 'a', peers: [B] });
    procs.push(sinkA, await startSink({ dc: B, cluster: 'b', peers: [A] }));
    a = clusterClient('a');
    b = clusterClient('b');
  });
  afterAll(async () => {
    for (const n of nodes) {
      await n.call('DEBUG', 'SET-ACTIVE-EXPIRE', '1').catch(() => undefined);
      await n.config('SET', 'lazyfree-lazy-expire', 'no').catch(() => undefined);
      n.disconnect();
    }
    await Promise.all([sinkA, ...procs].map((p) => p?.kill('SIGTERM')));
    a?.disconnect();
    b?.disconnect();
  });

  const notDue = async () => (await sinkA.metric('tandem_sink_events_dropped_total', { reason: 'expiry-not-due' })).reduce((x, y) => x + y, 0);

  for (const lazyfree of [false, true]) {
    test(`keys re-written without TTL just after they expired keep their new value in both DCs (expiry as ${lazyfree ? 'UNLINK' : 'DEL'})`, async () => {
      const masters = [...(await mastersOf('a')), ...(await mastersOf('b'))];
      nodes.push(...masters);
      for (const m of masters) await m.config('SET', 'lazyfree-lazy-expire', lazyfree ? 'yes' : 'no');
      const p = `xe-${lazyfree ? 'u' : 'd'}-${Date.now()}`;
      // A 1 s TTL leaves a second for a key to reach b before it is due there too: first let the
      // sinks work off whatever the shared clusters' full syncs brought (earlier tests' keys), over
      // every partition, so that the keys below meet an idle pipeline.
      const probes = Array.from({ length: 32 }, (_, i) => `${p}:{${slotTag(i * 512)}}:probe`);
      for (const k of probes) await a.set(k, '1');
      await until('b to catch up with a', async () => (await Promise.all(probes.map((k) => b.exists(k)))).every((n) => n === 1), 120_000);
      const keys = Array.from({ length: 60 }, (_, i) => `${p}:{${slotTag((i * 277) % 16384)}}:k`);
      for (const [i, k] of keys.entries()) await a.set(k, 'old', 'PX', 1000 + (i % 3) * 1000);
      await until('the keys in b', async () => (await Promise.all(keys.map((k) => b.exists(k)))).every((n) => n === 1));
      // Sink a stops: b's expiry DELs of these keys wait in b's topic.
      await sinkA.kill('SIGKILL');
      // The cache-aside re-fill: each key written again in a, without a TTL, within 200 ms of its expiry.
      const start = Date.now();
      await Promise.all(
        keys.map(async (k, i) => {
          const expireAt = start + (i % 3) * 1000 + 1000;
          await sleep(Math.max(0, expireAt - Date.now()) + 50 + (i % 4) * 30);
          await a.set(k, `new-${i}`);
        }),
      );
      // b expires its copies itself (active expiry), and those DELs are read by source b.
      await until('b to expire the old copies', async () => (await Promise.all(keys.map((k) => b.get(k)))).every((v) => v !== 'old'));
      await sleep(4000); // sink a stays down a while longer: b's expiries are read late
      sinkA = await sinkA.restart();

      await until('every re-written key in both DCs', async () => {
        const [va, vb] = await Promise.all([Promise.all(keys.map((k) => a.get(k))), Promise.all(keys.map((k) => b.get(k)))]);
        return keys.every((_, i) => va[i] === `new-${i}` && vb[i] === `new-${i}`);
      }, 90_000);
      await sleep(2000); // nothing that arrives later may delete them
      expect(await Promise.all(keys.map((k) => a.get(k)))).toEqual(keys.map((_, i) => `new-${i}`));
      expect(await Promise.all(keys.map((k) => b.get(k)))).toEqual(keys.map((_, i) => `new-${i}`));
      // Each of b's expiries reached sink a (restarted above, so its counters are this round's) and was dropped: a's copy was not due.
      expect(await notDue()).toBeGreaterThanOrEqual(keys.length);
    });
  }

  test('a key that expires lazily, on access inside a MULTI in b, does not delete its re-written value in a', async () => {
    const key = `xe-m-${Date.now()}:{session}`;
    const [ma, mb] = [await masterOf('a', key), await masterOf('b', key)];
    nodes.push(ma, mb);
    await ma.call('DEBUG', 'SET-ACTIVE-EXPIRE', '0');
    await mb.call('DEBUG', 'SET-ACTIVE-EXPIRE', '0');
    const ttlMs = 3000;
    await a.set(key, 'v1', 'PX', ttlMs);
    const deadline = Date.now() + ttlMs;
    await until('the key in b', async () => (await b.get(key)) === 'v1');
    await sinkA.kill('SIGKILL');
    await sleep(deadline - Date.now() + 300);
    // b meets the expired key inside a transaction: its DEL is propagated inside MULTI … EXEC.
    const [[, seen]] = (await mb.multi().get(key).exec()) as [[Error | null, unknown]];
    expect(seen).toBeNull();
    await a.set(key, 'v2');
    sinkA = await sinkA.restart();
    await until('b to hold v2', async () => (await b.get(key)) === 'v2');
    await until('sink a (restarted) to drop b\'s expiry', async () => (await notDue()) >= 1);
    await sleep(2000);
    expect(await a.get(key)).toBe('v2');
    expect(await b.get(key)).toBe('v2');
  });
});
