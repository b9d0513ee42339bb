import type Redis from 'ioredis';
import type { Cluster } from 'ioredis';
import { slotTag } from '../../../services/shared/slot-tags';
import { clusterClient } from '../../harness/endpoints';
import { createDcTopics, startSink, type SinkProcess } from '../../harness/sink-process';
import { sleep, startSource, type SourceProcess } from '../../harness/source-process';

/**
 * Eviction is local (DESIGN §5 hazard 2): b has a small maxmemory under
 * allkeys-lru, a takes a load that does not fit in b. b evicts; source b
 * publishes those deletions as `eviction` events, and sink a drops them
 * (sink.applyEvictions is off by default): a keeps every key.
 */
const A = 'eva';
const B = 'evb';

describe('hazard: eviction', () => {
  const procs: (SourceProcess | SinkProcess)[] = [];
  const restore: { node: Redis; maxmemory: string; policy: string }[] = [];
  let a: Cluster;
  let b: Cluster;
  afterAll(async () => {
    for (const r of restore) await r.node.config('SET', 'maxmemory', r.maxmemory).catch(() => undefined);
    for (const r of restore) await r.node.config('SET', 'maxmemory-policy', r.policy).catch(() => undefined);
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    a?.disconnect();
    b?.disconnect();
  });

  test('keys b evicts under memory pressure stay in a', async () => {
    await createDcTopics(A);
    await createDcTopics(B);
    const [sourceA, sourceB] = [await startSource({ dc: A, cluster: 'a' }), await startSource({ dc: B, cluster: 'b' })];
    const sinkA = await startSink({ dc: A, cluster: 'a', peers: [B] });
    const sinkB = await startSink({ dc: B, cluster: 'b', peers: [A] });
    procs.push(sourceA, sourceB, sinkA, sinkB);
    a = clusterClient('a');
    b = clusterClient('b');
    await b.ping();
    for (const node of b.nodes('master') as Redis[]) {
      const [, maxmemory] = (await node.config('GET', 'maxmemory')) as string[];
      const [, policy] = (await node.config('GET', 'maxmemory-policy')) as string[];
      restore.push({ node, maxmemory, policy });
      const used = Number(/used_memory:(\d+)/.exec(await node.info('memory'))?.[1]);
      await node.config('SET', 'maxmemory-policy', 'allkeys-lru');
      await node.config('SET', 'maxmemory', String(used + 2 * 1024 * 1024));
    }
    expect(restore).toHaveLength(3);

    const p = `ev-${Date.now()}`;
    const value = 'e'.repeat(4096);
    const keys = Array.from({ length: 3000 }, (_, i) => `${p}:{${slotTag((i * 131) % 16384)}}:${i}`);
    for (let i = 0; i < keys.length; i += 100) await Promise.all(keys.slice(i, i + 100).map((k) => a.set(k, value)));

    let evicted = 0;
    for (let i = 0; i < 120 && evicted === 0; i++) {
      evicted = (await sourceB.metric('tandem_source_server_deletions_total', { result: 'eviction' })).reduce((x, y) => x + y, 0);
      if (evicted === 0) await sleep(500);
    }
    expect(evicted).toBeGreaterThan(0);
    let dropped = 0;
    for (let i = 0; i < 120 && dropped < evicted; i++) {
      dropped = (await sinkA.metric('tandem_sink_events_dropped_total', { reason: 'eviction' })).reduce((x, y) => x + y, 0);
      if (dropped < evicted) await sleep(500);
    }
    expect(dropped).toBeGreaterThanOrEqual(evicted);
    await sleep(1000);
    const present = await Promise.all(keys.map((k) => a.exists(k)));
    expect(present.filter((n) => n === 1).length).toBe(keys.length);
  });
});
