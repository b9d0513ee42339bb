import { TandemError } from '../errors';
import type { ClusterNode, Shard } from './shard';

/**
 * CLUSTER NODES grammar: one line per node,
 *   <id> <ip:port@cport[,hostname]> <flags> <master-id|-> <ping> <pong> <epoch> <link> <slot>…
 * flags include myself, master, slave, fail, fail?, handshake, noaddr; a slot is
 * `n`, `a-b`, or a migrating `[n->-id]` / importing `[n-<-id]` entry. The
 * address is the node's ip and the port of the kind (plaintext or, with
 * tls-cluster, TLS) the cluster bus announces.
 *
 * Three readers use it: the source's topology on servers without CLUSTER
 * SHARDS (parseClusterNodes), what one master says of its own slots
 * (parseOwnSlots), and the sink's count of live replicas per master
 * (liveReplicaCounts).
 */
export interface NodeLine {
  node: ClusterNode;
  flags: string[];
  /** The id of the master a replica follows; '-' for a master. */
  masterId: string;
  /** Owned slots as inclusive [start, end] pairs; migrations are in `transfers`. */
  slots: [number, number][];
  /** The `[…]` entries, as written (a master lists them on its own line only). */
  transfers: string[];
}

export function parseNodeLines(text: string): NodeLine[] {
  const out: NodeLine[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const parts = line.split(' ');
    if (parts.length < 8) throw new TandemError('RESP_PROTOCOL', `CLUSTER NODES line has ${parts.length} fields, not at least 8: ${line.slice(0, 200)}`);
    const [hostPort] = parts[1].split('@');
    const sep = hostPort.lastIndexOf(':');
    const flags = parts[2].split(',');
    const slots: [number, number][] = [];
    const transfers: string[] = [];
    for (const s of parts.slice(8)) {
      if (s.startsWith('[')) {
        transfers.push(s);
        continue;
      }
      const [a, b] = s.split('-').map(Number);
      slots.push([a, b ?? a]);
    }
    out.push({
      node: {
        id: parts[0],
        host: hostPort.slice(0, sep),
        port: Number(hostPort.slice(sep + 1)),
        role: flags.includes('master') ? 'master' : 'replica',
        health: flags.includes('fail') ? 'fail' : flags.includes('loading') ? 'loading' : 'online',
      },
      flags,
      masterId: parts[3],
      slots,
      transfers,
    });
  }
  return out;
}

/** The masters not flagged as failed, with their replicas: the topology from CLUSTER NODES (servers without CLUSTER SHARDS). */
export function parseClusterNodes(text: string, opts: { withoutSlots?: boolean } = {}): Shard[] {
  const rows = parseNodeLines(text);
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
  for (const { node, flags, slots, transfers } of parseNodeLines(text)) {
    addresses.set(node.id, { host: node.host, port: node.port });
    const mine = flags.includes('myself');
    if (mine) {
      myId = node.id;
      for (const t of transfers) {
        const m = /^\[(\d+)->-([0-9a-f]+)\]$/.exec(t); // [slot->-id] migrating; [slot-<-id] importing is not ours to follow
        if (m) migrating.set(Number(m[1]), m[2]);
      }
    }
    for (const [a, b] of slots) {
      for (let x = a; x <= b; x++) {
        owners.set(x, node.id);
        if (mine) owned[x] = 1;
      }
    }
  }
  return { myId, owned, migrating, addresses, owners };
}

/**
 * Replicas per master id that are not flagged as failed (`fail`; a replica
 * only suspected, `fail?`, still counts: WAIT waits for it until the cluster
 * agrees it failed). Not from CLUSTER SLOTS: it leaves out a replica whose
 * replication offset this node has not yet heard of (redis/src/cluster.c
 * isReplicaAvailable), which is every replica of a cluster not yet written to.
 */
export function liveReplicaCounts(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const { flags, masterId } of parseNodeLines(text)) {
    if (flags.includes('slave') && !flags.includes('fail')) out.set(masterId, (out.get(masterId) ?? 0) + 1);
  }
  return out;
}
