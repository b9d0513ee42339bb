import type Redis from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { TandemError, errorMessage } from '../errors';
import { connectNode } from '../redis-connect';
import { parseClusterNodes } from './cluster-nodes';
import { parseClusterShards, type Reply } from './cluster-shards';
import { parseClusterSlots } from './cluster-slots';
import type { Shard } from './shard';

/**
 * The one reader of a cluster's topology, for the source (its local cluster)
 * and the sink (its target cluster): ask a node, and take the first node
 * whose answer maps a slot.
 *
 * Each asks with its own command, for two reasons that one command cannot
 * serve both:
 * - Permissions. The Redis ACL users operators have deployed
 *   (docs/security.md) allow the source `+cluster|shards +cluster|nodes` and
 *   the sink `+cluster|slots +cluster|nodes`; moving either to the other's
 *   command would stop it on every deployed user (and leave a denial in the
 *   nodes' ACL LOG at each refresh).
 * - Content. The source needs every master, those without slots (just added,
 *   drained) and failed ones too, with node ids, replicas and their health:
 *   only CLUSTER SHARDS has them all (CLUSTER NODES on servers without it).
 *   The sink routes by the address clients are redirected to: CLUSTER SLOTS
 *   gives each slot's owner at its preferred endpoint and at the port of the
 *   asking connection's kind (TLS or not), as -MOVED and -ASK do, so its
 *   slot map and the redirections it follows name a node the same way.
 *
 * Both come out as the same `Shard[]`, and the slot -> master map is built
 * from it once (`slotMap`, shard.ts).
 */
export type TopologyCommand = 'SHARDS' | 'SLOTS';

export interface TopologyQuery {
  command: TopologyCommand;
  /** The asking client uses TLS: CLUSTER SHARDS lists both ports, so pick `tls-port`. */
  tls?: boolean;
  /** CLUSTER SHARDS: keep masters without slots and failed ones (the source's full picture). */
  withoutSlots?: boolean;
}

/** One node's answer. CLUSTER SHARDS falls back to CLUSTER NODES on servers that do not know it. */
export async function queryShards(node: Pick<Redis, 'call'>, q: TopologyQuery): Promise<Shard[]> {
  if (q.command === 'SLOTS') return parseClusterSlots((await node.call('CLUSTER', 'SLOTS')) as Reply[]);
  try {
    return parseClusterShards((await node.call('CLUSTER', 'SHARDS')) as Reply[], { tls: q.tls, withoutSlots: q.withoutSlots });
  } catch (err) {
    if (!/unknown subcommand|unknown command/i.test(errorMessage(err))) throw err;
    return parseClusterNodes(String(await node.call('CLUSTER', 'NODES')), { withoutSlots: q.withoutSlots });
  }
}

export interface AnyNodeRead<N> {
  /** How a node is named in the error. */
  name: (node: N) => string;
  ask: (node: N) => Promise<Shard[]>;
  /** An error every node would give (wrong credentials): thrown at once. */
  fatal?: (err: unknown) => boolean;
  /** Why a node whose answer maps no slot is passed over. */
  noSlot: string;
  /** The message when no node answered. */
  failure: string;
}

/** Asks the nodes in turn; the first whose answer maps a slot wins. Throws REDIS_UNAVAILABLE (retriable), naming each node's failure, when none does. */
export async function readFromAnyNode<N>(nodes: N[], o: AnyNodeRead<N>): Promise<{ shards: Shard[]; node: N }> {
  const errors: string[] = [];
  for (const node of nodes) {
    try {
      const shards = await o.ask(node);
      // A node removed from the cluster (del-node resets it) knows only itself and serves no slot: ask another.
      if (shards.some((s) => s.slots.length > 0)) return { shards, node };
      errors.push(`${o.name(node)}: ${o.noSlot}`);
    } catch (err) {
      if (o.fatal?.(err)) throw err;
      errors.push(`${o.name(node)}: ${errorMessage(err)}`);
    }
  }
  throw new TandemError('REDIS_UNAVAILABLE', `${o.failure} (${errors.join('; ')})`);
}

/** The source's read (and the tests'): CLUSTER SHARDS from the first seed that answers, over a connection of its own. */
export async function readTopology(seeds: { host: string; port: number }[], options: RedisOptions = {}, opts: { withoutSlots?: boolean } = {}): Promise<Shard[]> {
  const { shards } = await readFromAnyNode(seeds, {
    name: (seed) => `${seed.host}:${seed.port}`,
    ask: async (seed) => {
      let r: Redis | undefined;
      try {
        r = await connectNode(seed.host, seed.port, options, 'replication');
        return await queryShards(r, { command: 'SHARDS', tls: options.tls !== undefined, withoutSlots: opts.withoutSlots });
      } finally {
        r?.disconnect();
      }
    },
    // Wrong credentials are the same on every seed: say so at once.
    fatal: (err) => err instanceof TandemError && err.code === 'REPL_AUTH',
    noSlot: 'serves no slot and knows no node that does (removed from the cluster?)',
    failure: 'cannot read the cluster topology from any seed node',
  });
  return shards;
}
