import type { ClusterNode, Shard } from './shard';

/** A RESP2 reply as ioredis returns it. */
export type Reply = string | number | null | Reply[];

function kv(list: Reply[]): Map<string, Reply> {
  const m = new Map<string, Reply>();
  for (let i = 0; i + 1 < list.length; i += 2) m.set(String(list[i]), list[i + 1]);
  return m;
}

/**
 * CLUSTER SHARDS grammar (Redis 7.0, cluster.c clusterReplyShards):
 *   shard := [ "slots", [start, end, start, end, …], "nodes", [node, …] ]
 *   node  := [ "id", id, "port", n, "ip", ip, "endpoint", ep, ("hostname", h)?,
 *              ("tls-port", n)?, "role", "master"|"replica", "replication-offset", n, "health", h ]
 *
 * A node can list a plaintext `port` and a `tls-port`; a TLS client must use
 * the latter (with `port 0`, Redis lists only `tls-port`).
 */
export function parseClusterShards(reply: Reply[], opts: { tls?: boolean; withoutSlots?: boolean } = {}): Shard[] {
  const shards: Shard[] = [];
  for (const raw of reply) {
    const shard = kv(raw as Reply[]);
    const slotList = (shard.get('slots') as Reply[] | undefined) ?? [];
    const slots: [number, number][] = [];
    for (let i = 0; i + 1 < slotList.length; i += 2) slots.push([Number(slotList[i]), Number(slotList[i + 1])]);
    const nodes = ((shard.get('nodes') as Reply[] | undefined) ?? []).map((n) => {
      const f = kv(n as Reply[]);
      const ip = String(f.get('ip') ?? f.get('endpoint') ?? '');
      return {
        id: String(f.get('id')),
        host: ip,
        port: Number(opts.tls ? (f.get('tls-port') ?? f.get('port')) : (f.get('port') ?? f.get('tls-port'))),
        role: f.get('role') === 'master' ? 'master' : 'replica',
        health: String(f.get('health') ?? 'online'),
        replicationOffset: f.has('replication-offset') ? Number(f.get('replication-offset')) : undefined,
      } satisfies ClusterNode;
    });
    // `withoutSlots` is the source's full picture: it also keeps masters that own no slot yet (just
    // added) or any more (drained), and a shard whose master failed and is not replaced yet (its
    // link must wait for the failover, not end: the master is still a member of the cluster).
    const master = nodes.find((n) => n.role === 'master' && n.health !== 'fail') ?? (opts.withoutSlots ? nodes.find((n) => n.role === 'master') : undefined);
    // Otherwise a shard with no slots or no live master (e.g. a failed master's leftovers) carries no data.
    if (master && (slots.length > 0 || opts.withoutSlots)) shards.push({ master, replicas: nodes.filter((n) => n !== master), slots });
  }
  return shards;
}
