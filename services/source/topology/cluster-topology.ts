import type Redis from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { connectNode } from '../../shared/redis-connect';
import { TandemError, errorMessage } from '../../shared/errors';

/**
 * The masters of the local cluster, each with its slot ranges and replicas.
 * Read with `CLUSTER SHARDS` (Redis 7+), falling back to `CLUSTER NODES` for
 * servers without it. The source opens one replica link per master.
 */
export interface ClusterNode {
  id: string;
  host: string;
  port: number;
  role: 'master' | 'replica';
  /** Node health in CLUSTER SHARDS terms: online, failed, loading. */
  health: string;
  replicationOffset?: number;
}

export interface Shard {
  master: ClusterNode;
  replicas: ClusterNode[];
  /** Inclusive [start, end] pairs. */
  slots: [number, number][];
}

type Reply = string | number | null | Reply[];

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
 */
/**
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

/**
 * CLUSTER NODES grammar: one line per node,
 *   <id> <ip:port@cport[,hostname]> <flags> <master-id|-> <ping> <pong> <epoch> <link> <slot>…
 * flags include myself, master, slave, fail, fail?, handshake, noaddr; a slot is
 * `n`, `a-b`, or an importing/migrating `[n->-id]` entry, which we skip.
 */
export function parseClusterNodes(text: string, opts: { withoutSlots?: boolean } = {}): Shard[] {
  const rows = text.trim().split('\n').filter(Boolean).map((line) => {
    const parts = line.trim().split(' ');
    const [hostPort] = parts[1].split('@');
    const sep = hostPort.lastIndexOf(':');
    const flags = parts[2].split(',');
    return {
      node: {
        id: parts[0],
        host: hostPort.slice(0, sep),
        port: Number(hostPort.slice(sep + 1)),
        role: flags.includes('master') ? 'master' : 'replica',
        health: flags.includes('fail') ? 'fail' : flags.includes('loading') ? 'loading' : 'online',
      } as ClusterNode,
      masterId: parts[3],
      slots: parts.slice(8).filter((s) => !s.startsWith('[')).map((s) => {
        const [a, b] = s.split('-').map(Number);
        return [a, b ?? a] as [number, number];
      }),
    };
  });
  return rows
    .filter((r) => r.node.role === 'master' && r.node.health !== 'fail' && (r.slots.length > 0 || opts.withoutSlots))
    .map((r) => ({ master: r.node, replicas: rows.filter((x) => x.masterId === r.node.id).map((x) => x.node), slots: r.slots }));
}

/**
 * What one master says of its own slots in CLUSTER NODES: the slots it owns,
 * and those it is migrating to another node (`[slot->-<node id>]`). Only a
 * master's own line shows its migrations (cluster.c clusterGenNodeDescription).
 */
export interface OwnSlots {
  myId: string;
  owned: Uint8Array;
  /** slot -> id of the importing node */
  migrating: Map<number, string>;
  /** Every node's id -> ip:port as CLUSTER NODES gives it (the plaintext or, with tls-cluster, the TLS port). */
  addresses: Map<string, { host: string; port: number }>;
  /** slot -> id of the node that serves it, in this master's view. */
  owners: Map<number, string>;
}

export function parseOwnSlots(text: string): OwnSlots {
  const owned = new Uint8Array(16384);
  const migrating = new Map<number, string>();
  const addresses = new Map<string, { host: string; port: number }>();
  const owners = new Map<number, string>();
  let myId = '';
  for (const line of text.split('\n')) {
    const parts = line.trim().split(' ');
    if (parts.length < 8) continue;
    const [id, addr, flags] = parts;
    const [hostPort] = addr.split('@');
    const sep = hostPort.lastIndexOf(':');
    addresses.set(id, { host: hostPort.slice(0, sep), port: Number(hostPort.slice(sep + 1)) });
    const mine = flags.split(',').includes('myself');
    if (mine) myId = id;
    for (const s of parts.slice(8)) {
      if (s.startsWith('[')) {
        // [slot->-id] migrating, [slot-<-id] importing
        const m = /^\[(\d+)->-([0-9a-f]+)\]$/.exec(s);
        if (m && mine) migrating.set(Number(m[1]), m[2]);
        continue;
      }
      const [a, b] = s.split('-').map(Number);
      for (let x = a; x <= (b ?? a); x++) {
        owners.set(x, id);
        if (mine) owned[x] = 1;
      }
    }
  }
  return { myId, owned, migrating, addresses, owners };
}

/** Reads the topology from the first seed that answers. */
export async function readTopology(seeds: { host: string; port: number }[], options: RedisOptions = {}, opts: { withoutSlots?: boolean } = {}): Promise<Shard[]> {
  const errors: string[] = [];
  for (const seed of seeds) {
    let r: Redis | undefined;
    try {
      r = await connectNode(seed.host, seed.port, options, 'replication');
      let shards: Shard[];
      try {
        shards = parseClusterShards((await r.call('CLUSTER', 'SHARDS')) as Reply[], { tls: options.tls !== undefined, withoutSlots: opts.withoutSlots });
      } catch (err) {
        if (!/unknown subcommand|unknown command/i.test(errorMessage(err))) throw err;
        shards = parseClusterNodes(String(await r.call('CLUSTER', 'NODES')), opts);
      }
      // A node removed from the cluster (del-node resets it) knows only itself and serves no slot: ask another.
      if (shards.some((s) => s.slots.length > 0)) return shards;
      errors.push(`${seed.host}:${seed.port}: serves no slot and knows no node that does (removed from the cluster?)`);
    } catch (err) {
      // Wrong credentials are the same on every seed: say so at once.
      if (err instanceof TandemError && err.code === 'REPL_AUTH') throw err;
      errors.push(`${seed.host}:${seed.port}: ${errorMessage(err)}`);
    } finally {
      r?.disconnect();
    }
  }
  throw new TandemError('REDIS_UNAVAILABLE', `cannot read the cluster topology from any seed node (${errors.join('; ')})`);
}
