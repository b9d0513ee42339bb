import { liveReplicaCounts, parseClusterNodes } from '../../../../services/shared/topology/cluster-nodes';
import { textFixture } from './captures';

/**
 * CLUSTER NODES of the cluster of cluster-slots.test.ts (captured by
 * capture-topology-replies.ts from a real Redis 7.0.15): every node up
 * (`cluster-nodes-replicas.txt`), then replica 21655 flagged `fail`
 * (`cluster-nodes-failed-replica.txt`), then master 21651 flagged `fail`,
 * its replica 21654 `nofailover` (`cluster-nodes-failed-master.txt`).
 */
const M1 = 'dd8bb8e76eeddfbf4f398616594e015f609b486f'; // 21650
const M2 = 'ece8ee70edc1b5a4971c4f412819f67b4cb0fbf5'; // 21651
const M3 = '95cb22e073f7820c99b61f853c7a59ffa57cdfc2'; // 21652

describe('liveReplicaCounts (what sink.waitReplicas auto waits for)', () => {
  test('every master with its replica', () => {
    const counts = liveReplicaCounts(textFixture('cluster-nodes-replicas.txt'));
    expect([counts.get(M1), counts.get(M2), counts.get(M3)]).toEqual([1, 1, 1]);
  });

  test('a replica the cluster flagged failed does not count', () => {
    const counts = liveReplicaCounts(textFixture('cluster-nodes-failed-replica.txt'));
    expect([counts.get(M1), counts.get(M2), counts.get(M3) ?? 0]).toEqual([1, 1, 0]);
  });

  test('the replica of a failed master still counts (it is up, only not allowed to fail over)', () => {
    expect(liveReplicaCounts(textFixture('cluster-nodes-failed-master.txt')).get(M2)).toBe(1);
  });
});

describe('parseClusterNodes (the source\'s topology on servers without CLUSTER SHARDS)', () => {
  test('masters with their slots and replicas; a master with two ranges keeps both', () => {
    const shards = parseClusterNodes(textFixture('cluster-nodes-replicas.txt'));
    expect(shards.map((s) => [s.master.port, s.slots, s.replicas.map((r) => r.port)])).toEqual([
      [21650, [[1, 5460]], [21653]],
      [21651, [[5461, 10922]], [21654]],
      [21652, [[0, 0], [10923, 16383]], [21655]],
    ]);
  });

  test('a master flagged failed is left out, even with slots', () => {
    expect(parseClusterNodes(textFixture('cluster-nodes-failed-master.txt'), { withoutSlots: true }).map((s) => s.master.port)).toEqual([21650, 21652]);
  });

  test('a line that is not a CLUSTER NODES line is refused', () => {
    expect(() => parseClusterNodes('abc 127.0.0.1:1@2 master -\n')).toThrow(/CLUSTER NODES line has 4 fields, not at least 8/);
  });
});
