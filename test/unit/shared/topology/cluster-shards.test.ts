import { parseClusterShards } from '../../../../services/shared/topology/cluster-shards';
import { respFixture } from './captures';

/**
 * `cluster-shards-tls-port.resp`: the raw CLUSTER SHARDS reply of a real
 * Redis 7.0.15 cluster of two masters, each with a plaintext port (25700,
 * 25710) and a TLS port (25701, 25711), `tls-cluster yes`.
 */
const reply = (file = 'cluster-shards-tls-port.resp') => respFixture(file);

describe('parseClusterShards', () => {
  test('a plaintext client connects to each master on its port', () => {
    const shards = parseClusterShards(reply() as never);
    expect(shards.map((s) => [s.master.host, s.master.port, s.slots])).toEqual([
      ['127.0.0.1', 25710, [[8192, 16383]]],
      ['127.0.0.1', 25700, [[0, 8191]]],
    ]);
  });

  test('a TLS client connects to each master on its tls-port', () => {
    const shards = parseClusterShards(reply() as never, { tls: true });
    expect(shards.map((s) => s.master.port)).toEqual([25711, 25701]);
  });

  /**
   * `cluster-shards-failed-master.resp`: CLUSTER SHARDS of a real Redis 7.0.15
   * cluster (3 masters, 3 replicas) just after master 16001 was shut down:
   * marked failed, its replica (16005) not promoted.
   */
  test('the source keeps a shard whose master failed and is not replaced yet, so its link waits instead of ending', () => {
    const all = parseClusterShards(reply('cluster-shards-failed-master.resp') as never, { withoutSlots: true });
    const failed = all.find((s) => s.master.port === 16001);
    expect(failed?.master.health).toBe('fail');
    expect(failed?.slots).toEqual([[0, 5460]]);
    expect(failed?.replicas.map((r) => r.port)).toEqual([16005]);
    // Readers that only want shards they can read from leave it out.
    expect(parseClusterShards(reply('cluster-shards-failed-master.resp') as never).map((s) => s.master.port).sort()).toEqual([16002, 16003]);
  });
});
