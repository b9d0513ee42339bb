import { parseClusterSlots } from '../../../../services/shared/topology/cluster-slots';
import { slotMap } from '../../../../services/shared/topology/shard';
import { respFixture } from './captures';

/**
 * Captured by capture-topology-replies.ts from a real Redis 7.0.15 cluster of
 * 3 masters (21650-21652) and 3 replicas (21653-21655), slot 0 moved to
 * 21652: `cluster-slots.resp` with every node up; `cluster-slots-failed-master.resp`
 * after replica 21655 and then master 21651 (its replica set to
 * cluster-replica-no-failover) were shut down and flagged failed.
 */
const KEY = (n: { host: string; port: number }) => `${n.host}:${n.port}`;

describe('parseClusterSlots (the sink\'s slot routing)', () => {
  test('each range names its owner at the address to connect to; the ranges of one master make one shard', () => {
    const shards = parseClusterSlots(respFixture('cluster-slots.resp') as never);
    expect(shards.map((s) => [KEY(s.master), s.master.id, s.slots, s.replicas.map(KEY)])).toEqual([
      ['127.0.0.1:21652', '95cb22e073f7820c99b61f853c7a59ffa57cdfc2', [[0, 0], [10923, 16383]], ['127.0.0.1:21655']],
      ['127.0.0.1:21650', 'dd8bb8e76eeddfbf4f398616594e015f609b486f', [[1, 5460]], ['127.0.0.1:21653']],
      ['127.0.0.1:21651', 'ece8ee70edc1b5a4971c4f412819f67b4cb0fbf5', [[5461, 10922]], ['127.0.0.1:21654']],
    ]);
  });

  test('the slot -> master map covers every slot', () => {
    const owners = slotMap<string | undefined>(parseClusterSlots(respFixture('cluster-slots.resp') as never), KEY, undefined);
    expect(owners.length).toBe(16384);
    expect(owners.every((o) => o !== undefined)).toBe(true);
    expect([owners[0], owners[1], owners[5460], owners[5461], owners[10923], owners[16383]]).toEqual([
      '127.0.0.1:21652',
      '127.0.0.1:21650',
      '127.0.0.1:21650',
      '127.0.0.1:21651',
      '127.0.0.1:21652',
      '127.0.0.1:21652',
    ]);
  });

  test('a failed master not replaced yet still owns its slots: the sink keeps sending there (and retrying) until a failover moves them', () => {
    const shards = parseClusterSlots(respFixture('cluster-slots-failed-master.resp') as never);
    const owners = slotMap<string | undefined>(shards, KEY, undefined);
    expect(owners[5461]).toBe('127.0.0.1:21651');
    expect(shards.find((s) => s.master.port === 21651)?.master.health).toBe('unknown');
    // A failed replica is not listed (isReplicaAvailable).
    expect(shards.find((s) => s.master.port === 21652)?.replicas).toEqual([]);
  });

  test('a reply that is not CLUSTER SLOTS is refused with the entry it could not read', () => {
    expect(() => parseClusterSlots([[0, 16383]] as never)).toThrow(/CLUSTER SLOTS entry is not \[start, end, master, …\]: \[0,16383\]/);
  });
});
