import type { RedisOptions } from 'ioredis';
import type { Logger } from '../../shared/logger';
import { SLOT_COUNT } from '../../shared/slot';
import { readTopology } from '../../shared/topology/read-topology';
import { slotMap, type ClusterNode, type Shard } from '../../shared/topology/shard';

/**
 * The source's current picture of its cluster, kept fresh: re-read every
 * `refreshMs`, and at once when something hints at a change (a link failed, a
 * command showed up on a master in a slot the picture gives another master).
 *
 * The picture keeps masters without slots too: a master just added by
 * `add-node` gets its link before `rebalance` moves slots to it, so the keys
 * it imports arrive as migration traffic, not in a late RDB.
 *
 * A slot whose owner changed between two pictures is a hand-off: whatever its
 * old master wrote in it must be published before what the new master writes
 * (migration-guard.ts). `handoffs` keeps, per such slot, the old owner and
 * when the change was seen.
 */
export interface TopologyView {
  shards: Shard[];
  /** slot -> node id of its master ('' when no master serves it) */
  owners: string[];
  /** every node by id, masters and replicas */
  nodes: Map<string, ClusterNode>;
  /** performance.now() when the read started */
  readAt: number;
}

export interface Handoff {
  from: string;
  to: string;
  /** performance.now() of the read that saw the slot's new owner */
  seenAt: number;
  /**
   * The old owner's master_repl_offset, read after `seenAt`: everything it
   * wrote in the slot is before it. Filled by the first link that waits on it.
   */
  fromOffset?: number;
}

export interface TopologyTrackerOptions {
  seeds: { host: string; port: number }[];
  redisOptions: RedisOptions;
  refreshMs: number;
  log: Logger;
}

export class TopologyTracker {
  private current: TopologyView | undefined;
  readonly handoffs = new Map<number, Handoff>();
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<TopologyView> | undefined;
  private queued: Promise<TopologyView> | undefined;
  private failures = 0;
  /** Called after every read that succeeded (the source links new masters here). */
  onRefresh: ((view: TopologyView) => void) | undefined;

  constructor(private readonly o: TopologyTrackerOptions) {}

  get view(): TopologyView | undefined {
    return this.current;
  }

  /** First read (errors propagate: the source cannot start without its cluster), then the periodic refresh. */
  async start(): Promise<TopologyView> {
    const view = await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch(() => undefined);
    }, this.o.refreshMs);
    this.timer.unref();
    return view;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  ownerOf(slot: number): string {
    return this.current?.owners[slot] ?? '';
  }

  /**
   * Re-reads the topology; concurrent callers share one read, and a call made
   * while a read runs gets a read that starts after it (so a hint is never
   * answered with a picture older than the hint).
   */
  refresh(): Promise<TopologyView> {
    if (this.reading) {
      // One read queued behind the running one serves every hint made meanwhile.
      this.queued ??= this.reading.then(
        () => undefined,
        () => undefined,
      ).then(() => {
        this.queued = undefined;
        return this.refresh();
      });
      return this.queued;
    }
    this.reading = this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async read(): Promise<TopologyView> {
    const readAt = performance.now();
    // Known masters answer too, so the picture survives the loss of every configured seed.
    const known = this.current?.shards.map((s) => ({ host: s.master.host, port: s.master.port })) ?? [];
    let shards: Shard[];
    try {
      shards = await readTopology([...this.o.seeds, ...known], this.o.redisOptions, { withoutSlots: true });
      if (this.failures > 0) this.o.log.info({ failures: this.failures }, 'topology readable again');
      this.failures = 0;
    } catch (err) {
      this.failures++;
      // Every failure would repeat each refresh: log the first and then every 30th.
      if (this.failures === 1 || this.failures % 30 === 0) this.o.log.warn({ err, failures: this.failures }, 'cannot re-read the cluster topology; keeping the last picture');
      if (this.current) return this.current;
      throw err;
    }
    const owners = slotMap(shards, (m) => m.id, '');
    const nodes = new Map<string, ClusterNode>();
    for (const shard of shards) {
      nodes.set(shard.master.id, shard.master);
      for (const r of shard.replicas) nodes.set(r.id, r);
    }
    const view: TopologyView = { shards, owners, nodes, readAt };
    const previous = this.current;
    if (previous) {
      for (let s = 0; s < SLOT_COUNT; s++) {
        const from = previous.owners[s];
        const to = owners[s];
        // A failover keeps the slot in its shard: the promoted replica is not a hand-off.
        if (from !== to && from !== '' && to !== '' && !sameShard(previous, from, to) && !sameShard(view, from, to)) {
          this.handoffs.set(s, { from, to, seenAt: readAt });
        }
      }
    }
    this.current = view;
    if (!previous || changed(previous, view)) {
      // Node changes at info; slot counts moving during a reshard (a read per hint) at debug.
      const level = !previous || nodesOf(previous) !== nodesOf(view) ? 'info' : 'debug';
      this.o.log[level]({ masters: shards.map((s) => `${s.master.host}:${s.master.port}(${s.slots.reduce((n, [a, b]) => n + b - a + 1, 0)})`) }, 'cluster topology');
    }
    this.onRefresh?.(view);
    return view;
  }
}

function sameShard(view: TopologyView, a: string, b: string): boolean {
  return view.shards.some((s) => [s.master, ...s.replicas].some((n) => n.id === a) && [s.master, ...s.replicas].some((n) => n.id === b));
}

function nodesOf(v: TopologyView): string {
  return v.shards.map((s) => `${s.master.id}/${s.master.health}:${s.replicas.map((r) => r.id).sort().join(',')}`).sort().join('|');
}

function changed(a: TopologyView, b: TopologyView): boolean {
  if (a.shards.length !== b.shards.length) return true;
  const shape = (v: TopologyView) =>
    v.shards
      .map((s) => `${s.master.id}@${s.master.host}:${s.master.port}/${s.master.health}:${s.replicas.map((r) => r.id).sort().join(',')}:${JSON.stringify(s.slots)}`)
      .sort()
      .join('|');
  return shape(a) !== shape(b);
}
