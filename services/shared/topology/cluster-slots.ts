import { TandemError } from '../errors';
import type { Reply } from './cluster-shards';
import type { ClusterNode, Shard } from './shard';

/**
 * CLUSTER SLOTS grammar (Redis 7.0, cluster.c clusterReplyMultiBulkSlots):
 *   reply := [ range, … ]        one per run of consecutive slots with one owner
 *   range := [ start, end, master, replica… ]
 *   node  := [ endpoint, port, id, [ ("hostname", h)?, ("ip", ip)? ] ]
 *
 * `endpoint` is the node's preferred endpoint (cluster-preferred-endpoint-type:
 * its ip by default, or its hostname), the address Redis also writes in -MOVED
 * and -ASK; `port` is the TLS or the plaintext port, whichever the asking
 * connection uses (with tls-cluster). A range names its owner whatever the
 * owner's health; a replica is listed only when it is not failed and its
 * replication offset is known (isReplicaAvailable). Ranges of one master
 * become one shard.
 */
export function parseClusterSlots(reply: Reply[]): Shard[] {
  const byId = new Map<string, Shard>();
  for (const raw of reply) {
    const range = raw as Reply[];
    if (!Array.isArray(range) || range.length < 3 || !Array.isArray(range[2])) {
      throw new TandemError('RESP_PROTOCOL', `CLUSTER SLOTS entry is not [start, end, master, …]: ${JSON.stringify(range).slice(0, 200)}`);
    }
    const master = node(range[2], 'master', 'unknown');
    let shard = byId.get(master.id);
    if (shard === undefined) byId.set(master.id, (shard = { master, replicas: [], slots: [] }));
    shard.slots.push([Number(range[0]), Number(range[1])]);
    for (const r of range.slice(3)) {
      const replica = node(r as Reply[], 'replica', 'online');
      if (!shard.replicas.some((x) => x.id === replica.id)) shard.replicas.push(replica);
    }
  }
  return [...byId.values()];
}

function node(n: Reply[], role: ClusterNode['role'], health: string): ClusterNode {
  return { id: String(n[2]), host: String(n[0]), port: Number(n[1]), role, health };
}
