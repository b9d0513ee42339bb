/**
 * Reads what a master holds of the anti-loop markers, for the version
 * vectors that stamp local events (commands/slot-vectors.ts, docs/events.md
 * "Stamps"). The order matters and is the proof of exactness:
 *
 *   1. CLUSTER NODES       the master's own slots
 *   2. GET of every marker `__tandem:{slot}:o:<peer>` of those slots, pipelined
 *   3. INFO replication    master_repl_offset Q, read after every GET
 *
 * Every value read was written at or before Q, so from the first stream item
 * past Q the vector is the max of these values and the markers the stream
 * shows. The cost is one GET per (slot, peer): about 5500 per peer for a
 * master of a 3-master cluster, once per link start or full resync.
 */
import type { RedisOptions } from 'ioredis';
import { TandemError } from '../../shared/errors';
import { markerKey } from '../../shared/marker';
import { connectNode } from '../../shared/redis-connect';
import type { VectorPrime } from '../commands/slot-vectors';
import { parseOwnSlots } from '../../shared/topology/cluster-nodes';

const GETS_PER_PIPELINE = 2000;

export async function readVectorPrime(
  node: { id: string; host: string; port: number },
  peers: readonly string[],
  options: RedisOptions,
): Promise<VectorPrime> {
  const r = await connectNode(node.host, node.port, options, 'replication');
  try {
    const own = parseOwnSlots(String(await r.call('CLUSTER', 'NODES')));
    if (own.myId !== node.id) {
      throw new TandemError('REDIS_UNAVAILABLE', `${node.host}:${node.port} is node ${own.myId}, not ${node.id}: the topology moved; prime again`);
    }
    const slots: number[] = [];
    for (let s = 0; s < own.owned.length; s++) if (own.owned[s] === 1) slots.push(s);
    // (slot, peer) pairs walked in place, GETS_PER_PIPELINE at a time: with many peers a list of all
    // pairs would be a few hundred thousand objects per master (seen: +68 MB of RSS at a link start).
    const markers = new Map<number, Map<string, string>>();
    const total = slots.length * peers.length;
    for (let i = 0; i < total; i += GETS_PER_PIPELINE) {
      const end = Math.min(total, i + GETS_PER_PIPELINE);
      const p = r.pipeline();
      for (let j = i; j < end; j++) p.get(markerKey(slots[Math.floor(j / peers.length)], peers[j % peers.length]));
      const replies = (await p.exec()) ?? [];
      replies.forEach(([err, value], k) => {
        if (err) throw TandemError.wrap('REDIS_UNAVAILABLE', `GET of a marker on ${node.host}:${node.port} failed (the source's ACL needs +get)`, err);
        if (typeof value !== 'string') return;
        const j = i + k;
        const slot = slots[Math.floor(j / peers.length)];
        let perPeer = markers.get(slot);
        if (perPeer === undefined) markers.set(slot, (perPeer = new Map()));
        perPeer.set(peers[j % peers.length], value);
      });
    }
    const info = String(await r.call('INFO', 'replication'));
    const m = /^master_repl_offset:(\d+)/m.exec(info);
    if (m === null) throw new TandemError('REDIS_UNAVAILABLE', `INFO replication of ${node.host}:${node.port} has no master_repl_offset`);
    return { nodeId: node.id, offset: Number(m[1]), slots, peers, markers };
  } finally {
    r.disconnect();
  }
}
