import { SLOT_COUNT } from '../slot';

/**
 * A Redis Cluster's topology as every part of Tandem sees it: its shards, each
 * a master with its slot ranges and its replicas. Each reply that describes
 * the topology (CLUSTER SHARDS, CLUSTER SLOTS, CLUSTER NODES) has one parser
 * beside this file, and each comes out as `Shard[]`; read-topology.ts says
 * who asks which.
 */
export interface ClusterNode {
  id: string;
  host: string;
  port: number;
  role: 'master' | 'replica';
  /**
   * Node health in CLUSTER SHARDS terms: online, fail, loading. 'unknown'
   * for a master read from CLUSTER SLOTS, which lists a slot's owner
   * whatever its health.
   */
  health: string;
  replicationOffset?: number;
}

export interface Shard {
  master: ClusterNode;
  replicas: ClusterNode[];
  /** Inclusive [start, end] pairs. */
  slots: [number, number][];
}

/**
 * The slot -> master map: `of(master)` of the shard that serves each slot,
 * `none` where no shard does. Where two shards claim a slot (a picture taken
 * while a slot changes hands), the later one in the reply wins.
 */
export function slotMap<T>(shards: Shard[], of: (master: ClusterNode) => T, none: T): T[] {
  const out = new Array<T>(SLOT_COUNT).fill(none);
  for (const shard of shards) {
    const value = of(shard.master);
    for (const [a, b] of shard.slots) for (let s = a; s <= b; s++) out[s] = value;
  }
  return out;
}
