import Redis, { type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import { TandemError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import { POLICIES, backoffDelay } from '../../shared/retry';
import { SLOT_COUNT } from '../../shared/slot';
import { liveReplicaCounts } from '../../shared/topology/cluster-nodes';
import { queryShards, readFromAnyNode } from '../../shared/topology/read-topology';
import { slotMap } from '../../shared/topology/shard';
import { RespPipe } from './resp-pipe';

/**
 * Routes slots to the target cluster's masters, with one connection per
 * master. We route ourselves instead of using ioredis' Cluster because the
 * sink must know exactly what happened to each MULTI/EXEC: ioredis' automatic
 * resend of unfulfilled commands after a reconnect could run an EXEC twice.
 * Connections here never resend (`autoResendUnfulfilledCommands: false`): a
 * command in flight when a connection drops fails, and the writer re-reads the
 * slot's marker before it tries again.
 *
 * The slot map comes from CLUSTER SLOTS of any reachable known node, read
 * and parsed by the topology reader the source shares
 * (shared/topology/read-topology.ts says why the sink asks CLUSTER SLOTS);
 * `refresh` is called after MOVED, connection loss and CLUSTERDOWN.
 *
 * Each node has two connections: an ioredis client for reads and one-off
 * commands (markers, topology, keyless commands), and a RespPipe that carries
 * the pipelined MULTI … EXEC blocks of the writer.
 */
export interface NodeAddress {
  host: string;
  port: number;
}

export const nodeKey = (n: NodeAddress) => `${n.host}:${n.port}`;

export class ClusterRouter {
  private slots: (string | undefined)[] = new Array<string | undefined>(SLOT_COUNT);
  private readonly clients = new Map<string, Redis>();
  private readonly pipes = new Map<string, RespPipe>();
  private refreshing: Promise<void> | undefined;
  /** Replicas per master, not flagged as failed (CLUSTER NODES), at the last refresh. */
  private replicas = new Map<string, number>();
  private replicasUnknown = false;
  private known: NodeAddress[];

  constructor(
    seeds: NodeAddress[],
    private readonly options: RedisOptions,
    private readonly log: Logger,
  ) {
    this.known = [...seeds];
  }

  /** Reads the slot map; throws REDIS_UNAVAILABLE (retriable) when no known node answers. */
  refresh(): Promise<void> {
    // Coalesce: many runs hit MOVED at once after a failover.
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<void> {
    const candidates = [...new Set([...this.clients.keys(), ...this.known.map(nodeKey)])];
    const { shards, node } = await readFromAnyNode(candidates, {
      name: (key) => key,
      ask: (key) => queryShards(this.client(key), { command: 'SLOTS' }),
      noSlot: 'CLUSTER SLOTS is empty',
      failure: "cannot read the target cluster's slots from any node",
    });
    this.slots = slotMap<string | undefined>(shards, nodeKey, undefined);
    const masters: NodeAddress[] = shards.map((s) => ({ host: s.master.host, port: s.master.port }));
    this.replicas = await this.replicasOf(node, new Map(shards.map((s) => [s.master.id, nodeKey(s.master)])));
    const live = new Set(masters.map(nodeKey));
    this.known = [...masters, ...this.known.filter((k) => !live.has(nodeKey(k)))].slice(0, 64);
    // Connections to nodes that are no longer masters are closed; they are reopened if needed.
    for (const [k, c] of this.clients) {
      if (!live.has(k)) {
        c.disconnect();
        this.clients.delete(k);
      }
    }
    for (const [k, p] of this.pipes) {
      if (!live.has(k)) {
        p.close();
        this.pipes.delete(k);
      }
    }
  }

  /** The master of a slot in the map as last read, without a refresh or a promise; undefined when the map does not know one. */
  masterKey(slot: number): string | undefined {
    return this.slots[slot];
  }

  /** The master of a slot, refreshing the map when it is unknown. */
  async master(slot: number): Promise<{ key: string; client: Redis }> {
    let key = this.slots[slot];
    if (key === undefined) {
      await this.refresh();
      key = this.slots[slot];
      if (key === undefined) throw new TandemError('REDIS_UNAVAILABLE', `no master serves slot ${slot} (CLUSTERDOWN?)`);
    }
    return { key, client: this.client(key) };
  }

  /**
   * Replicas of a master not flagged as failed, at the last refresh; 0 for a
   * node that serves no slot (an ASK target not yet in the map). A replica
   * that is only unreachable (PFAIL, or its link down) still counts: WAIT
   * waits for it until the cluster agrees it failed.
   */
  replicaCount(key: string): number {
    return this.replicas.get(key) ?? 0;
  }

  /** Live replicas per master (`liveReplicaCounts`: from CLUSTER NODES, not CLUSTER SLOTS, which omits replicas not yet written to). */
  private async replicasOf(key: string, masters: Map<string, string>): Promise<Map<string, number>> {
    const out = new Map<string, number>([...masters.values()].map((k) => [k, 0]));
    try {
      const counts = liveReplicaCounts(String(await this.client(key).call('CLUSTER', 'NODES')));
      for (const [id, k] of masters) out.set(k, counts.get(id) ?? 0);
      this.replicasUnknown = false;
    } catch (err) {
      if (!this.replicasUnknown) this.log.warn({ node: key, err }, 'cannot read CLUSTER NODES (the sink\'s user needs +cluster|nodes): sink.waitReplicas auto waits for no replica');
      this.replicasUnknown = true;
    }
    return out;
  }

  /** Every master with one of the slots it serves (for keyless commands applied on each master). */
  async masters(): Promise<{ key: string; client: Redis; slot: number }[]> {
    if (this.slots.every((k) => k === undefined)) await this.refresh();
    const firstSlot = new Map<string, number>();
    this.slots.forEach((k, slot) => {
      if (k !== undefined && !firstSlot.has(k)) firstSlot.set(k, slot);
    });
    return [...firstSlot].map(([key, slot]) => ({ key, slot, client: this.client(key) }));
  }

  /** A connection to `host:port` (an ASK target, or a master). */
  client(key: string): Redis {
    let c = this.clients.get(key);
    if (c === undefined) {
      const i = key.lastIndexOf(':');
      c = new Redis({
        ...this.options,
        host: key.slice(0, i),
        port: Number(key.slice(i + 1)),
        autoResendUnfulfilledCommands: false,
        maxRetriesPerRequest: 2,
        enableReadyCheck: true,
        retryStrategy: (times) => backoffDelay(POLICIES.targetReconnect, times),
        connectTimeout: 3000,
        lazyConnect: false,
      });
      // Errors surface on the commands themselves (the writer retries them); log at debug to see reconnects.
      c.on('error', (err: Error) => this.log.debug({ node: key, err }, 'target connection error'));
      this.clients.set(key, c);
    }
    return c;
  }

  /** The pipelined connection to `host:port` (a master, or an ASK target) that carries MULTI … EXEC blocks. */
  pipe(key: string): RespPipe {
    let p = this.pipes.get(key);
    if (p === undefined) {
      const i = key.lastIndexOf(':');
      const { username, password, tls } = this.options;
      p = new RespPipe({
        host: key.slice(0, i),
        port: Number(key.slice(i + 1)),
        username,
        password,
        tls: tls as ConnectionOptions | undefined,
        connectTimeoutMs: 3000,
      });
      this.pipes.set(key, p);
    }
    return p;
  }

  /** A dedicated connection for WATCH-based work; the caller closes it. */
  dedicated(key: string): Redis {
    const i = key.lastIndexOf(':');
    const c = new Redis({
      ...this.options,
      host: key.slice(0, i),
      port: Number(key.slice(i + 1)),
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
      connectTimeout: 3000,
    });
    c.on('error', (err: Error) => this.log.debug({ node: key, err }, 'dedicated target connection error'));
    return c;
  }

  /** True when at least one master answers PING (for /readyz). */
  async ping(): Promise<boolean> {
    try {
      const ms = await this.masters();
      if (ms.length === 0) return false;
      await ms[0].client.ping();
      return true;
    } catch {
      return false; // readiness probe: "not reachable" is the answer, not an error
    }
  }

  close(): void {
    for (const c of this.clients.values()) c.disconnect();
    this.clients.clear();
    for (const p of this.pipes.values()) p.close();
    this.pipes.clear();
  }
}
