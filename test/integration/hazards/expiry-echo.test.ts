import Redis from 'ioredis';
import { keySlot } from '../../../services/shared/slot';
import { readTopology } from '../../../services/source/topology/cluster-topology';
import { clusterClient, testEndpoints } from '../../harness/endpoints';
import { createDcTopics, startSink, type SinkProcess } from '../../harness/sink-process';
import { sleep, startSource, type SourceProcess } from '../../harness/source-process';

/**
 * DESIGN §5 hazard 2, "expiry echo", shown on the real pipeline. The stream
 * does not tell an expiry DEL from a client DEL. A key written in a with a TTL
 * reaches b with the same absolute expiry. If b expires it (here: a read after
 * the deadline) before a does, b's DEL carries origin b and travels to a; if a
 * client re-created the key in a meanwhile, that DEL deletes the new value.
 *
 * Active expiry is switched off on the two masters of the key's slot so the
 * order of the two expiries is the test's, not the expire cycle's. The test
 * asserts the hazard happens (the documented, expected behaviour), and that a
 * key written without a TTL is not affected.
 */
const A = 'xea';
const B = 'xeb';

async function masterOf(cluster: 'a' | 'b', key: string): Promise<Redis> {
  const seeds = cluster === 'a' ? testEndpoints().redisA : testEndpoints().redisB;
  const slot = keySlot(key);
  const shard = (await readTopology(seeds)).find((s) => s.slots.some(([x, y]) => x <= slot && slot <= y))!;
  return new Redis({ host: shard.master.host, port: shard.master.port });
}

describe('hazard: expiry echo', () => {
  const procs: (SourceProcess | SinkProcess)[] = [];
  const nodes: Redis[] = [];
  afterAll(async () => {
    for (const n of nodes) {
      await n.call('DEBUG', 'SET-ACTIVE-EXPIRE', '1').catch(() => undefined);
      n.disconnect();
    }
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
  });

  test('an expiry DEL in b travels back and deletes a value re-created in a meanwhile', async () => {
    await createDcTopics(A);
    await createDcTopics(B);
    procs.push(await startSource({ dc: A, cluster: 'a' }), await startSource({ dc: B, cluster: 'b' }));
    procs.push(await startSink({ dc: A, cluster: 'a', peers: [B] }), await startSink({ dc: B, cluster: 'b', peers: [A] }));
    const key = `xe:${Date.now()}:{session}`;
    const [ma, mb] = [await masterOf('a', key), await masterOf('b', key)];
    nodes.push(ma, mb);
    await ma.call('DEBUG', 'SET-ACTIVE-EXPIRE', '0');
    await mb.call('DEBUG', 'SET-ACTIVE-EXPIRE', '0');
    const a = clusterClient('a');
    const b = clusterClient('b');
    try {
      const ttlMs = 8000; // long enough to reach b first, even while the pipeline warms up
      const deadline = Date.now() + ttlMs;
      await a.set(key, 'v1', 'PX', ttlMs);
      // It reaches b with the same absolute deadline (the master propagates PXAT).
      for (let i = 0; i < 100 && (await b.get(key)) !== 'v1'; i++) await sleep(100);
      expect(await b.get(key)).toBe('v1');
      const bTtl = await b.pttl(key);
      expect(bTtl).toBeGreaterThan(0);
      expect(bTtl).toBeLessThanOrEqual(ttlMs);

      await sleep(deadline - Date.now() + 300); // past the deadline; neither side has deleted it yet (no active expiry)
      expect(await b.get(key)).toBeNull(); // b expires it now: its DEL, origin b, heads for a
      await a.set(key, 'v2'); // a client re-creates the key in a, without a TTL
      expect(await a.get(key)).toBe('v2');

      // b's expiry DEL arrives in a after the new write and deletes it.
      let inA: string | null = 'v2';
      for (let i = 0; i < 100 && inA !== null; i++) {
        await sleep(100);
        inA = await a.get(key);
      }
      expect(inA).toBeNull();
      // Meanwhile b received a's own expiry DEL and the SET v2: the DCs diverge until the next write.
      for (let i = 0; i < 50 && (await b.get(key)) !== 'v2'; i++) await sleep(100);
      expect(await b.get(key)).toBe('v2');
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });
});
