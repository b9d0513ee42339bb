import Redis from 'ioredis';
import { readTopology } from '../../../services/shared/topology/read-topology';
import { clusterClient, testEndpoints } from '../../harness/endpoints';
import { createDcTopics, sleep, startSource, type SourceProcess } from '../../harness/source-process';
import { mixedWorkload } from '../../harness/workload';

/**
 * Offset exactness: after a mixed workload on every master, each link's
 * replication offset equals its master's master_repl_offset, byte for byte.
 */
describe('source: exact replication offsets', () => {
  let source: SourceProcess | undefined;
  afterEach(async () => {
    await source?.kill('SIGTERM');
  });

  test('after 15 s of mixed writes on every master, each link offset equals master_repl_offset', async () => {
    await createDcTopics('offsets');
    source = await startSource({ dc: 'offsets' });
    const cluster = clusterClient('a');
    const stats = await mixedWorkload(cluster, `offsets-${Date.now()}`, 15_000);
    cluster.disconnect();
    expect(stats.errors).toEqual([]);
    expect(stats.operations).toBeGreaterThan(5_000);

    const shards = await readTopology(testEndpoints().redisA);
    expect(shards).toHaveLength(3);
    for (const shard of shards) {
      const name = `${shard.master.host}:${shard.master.port}`;
      const master = new Redis({ host: shard.master.host, port: shard.master.port });
      try {
        // The master keeps pinging its replicas, so compare until both agree at one moment.
        let last = '';
        let equal = false;
        for (let i = 0; i < 100 && !equal; i++) {
          const before = Number(/master_repl_offset:(\d+)/.exec(await master.info('replication'))![1]);
          const [linkOffset] = await source.metric('tandem_source_repl_offset', { link: name });
          const after = Number(/master_repl_offset:(\d+)/.exec(await master.info('replication'))![1]);
          equal = before === after && linkOffset === after;
          last = `master ${before}/${after}, link ${linkOffset}`;
          if (!equal) await sleep(200);
        }
        if (!equal) throw new Error(`${name}: offsets never matched (${last})\n${source.log().slice(-2000)}`);
        expect(equal).toBe(true);
      } finally {
        master.disconnect();
      }
    }
  });
});
