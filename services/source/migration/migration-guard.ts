import type Redis from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { TandemError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import { connectNode } from '../../shared/redis-connect';
import { keySlot } from '../../shared/slot';
import type { OwnSlots } from '../../shared/topology/cluster-nodes';
import type { Handoff, TopologyTracker } from '../topology/topology-tracker';

/**
 * Keeps migration traffic from changing peers, and keeps a key's history in
 * order when the key moves from one master to another (docs/topology.md).
 *
 * A reshard moves a key with `MIGRATE`: the exporting master E sends
 * `RESTORE-ASKING` to the importing master I, waits for the reply, deletes the
 * key and propagates that deletion as a plain `DEL` (cluster.c
 * migrateCommand). I propagates the `RESTORE-ASKING`. Neither is a change of
 * the cluster's data, so neither may reach a peer:
 *
 * - `RESTORE-ASKING` is only ever sent by MIGRATE; the link drops it.
 * - A `DEL`/`UNLINK` on E of a key in a slot E is migrating (or no longer
 *   owns) is a migration when I holds the key once the link has read the
 *   deletion (`movedKeys`): the deletion then did not change what the cluster
 *   serves (a client asking E for a key E lacks in a migrating slot is sent
 *   to I). A client's deletion in such a slot leaves I without the key, unless
 *   a client wrote it again on I (through ASK) or E re-created and migrated it
 *   in the meantime; in both cases I's (or E's) later write reaches the peers
 *   after the deletion would have, so the peer ends where the cluster does.
 *
 * Order: a key's events come from E's link until it moves, from I's link after.
 * The links read their sockets at different speeds, so before a link publishes
 * an event in a slot that another master owns (an importing slot) or owned
 * until recently (a hand-off the tracker saw), that master's link must have
 * published everything its master had written by then (`orderAfter`): the
 * master's master_repl_offset, read after our event was read, bounds it.
 * E's link never waits for I's link (it asks I's server directly), so the two
 * links cannot wait for each other, unless two masters move slots to each
 * other at the same time; `waitMs` bounds that wait, and it is logged and
 * counted.
 */
export interface GuardedLink {
  readonly name: string;
  /** True for the link's current master and every master it followed before (failover). */
  follows(nodeId: string): boolean;
  readonly master: { host: string; port: number };
  /** Resolves once the link has published everything up to `offset`, has ended, or after `timeoutMs`. */
  whenProcessed(offset: number, timeoutMs: number): Promise<'reached' | 'ended' | 'timeout'>;
}

export interface MigrationGuardOptions {
  tracker: TopologyTracker;
  redisOptions: RedisOptions;
  log: Logger;
  links: () => Iterable<GuardedLink>;
  /** Longest wait for another link to publish up to a master's offset. */
  waitMs: number;
  onBarrier?: (result: 'reached' | 'ended' | 'timeout' | 'unreachable' | 'no-link') => void;
}

export class MigrationGuard {
  /** Per node id: performance.now() before which everything its master wrote is published by its link. */
  private readonly covered = new Map<string, number>();
  private readonly conns = new Map<string, Promise<Redis>>();

  constructor(private readonly o: MigrationGuardOptions) {}

  /**
   * True when an event of `me` in `slot` must wait for another master's link
   * (fast: called per event). The old owner of a slot never waits: its
   * events there are all from before the move.
   */
  needsOrder(me: GuardedLink, slot: number): boolean {
    if (slot < 0) return false;
    const h = this.o.tracker.handoffs.size > 0 ? this.o.tracker.handoffs.get(slot) : undefined;
    if (h !== undefined) return !me.follows(h.from);
    const owner = this.o.tracker.ownerOf(slot);
    return owner !== '' && !me.follows(owner);
  }

  /**
   * Waits until the masters that `slots` came from have had everything they
   * wrote before `readAt` (performance.now() when `me` read the events)
   * published by their links:
   * - a slot `me` imports (another master still owns it): that master's
   *   offset, read now, bounds what it wrote before our events;
   * - a slot handed over (the tracker saw its owner change): the old owner's
   *   offset read after the change bounds everything it wrote in the slot;
   *   once its link is past it, the hand-off is retired.
   */
  async orderAfter(me: GuardedLink, slots: Iterable<number>, readAt: number): Promise<void> {
    const owners = new Set<string>();
    const handoffs = new Map<number, Handoff>();
    for (const slot of slots) {
      if (!this.needsOrder(me, slot)) continue;
      const h = this.o.tracker.handoffs.get(slot);
      if (h !== undefined) handoffs.set(slot, h);
      else owners.add(this.o.tracker.ownerOf(slot));
    }
    for (const id of owners) {
      if ((this.covered.get(id) ?? -1) >= readAt) continue;
      const sentAt = performance.now();
      const other = this.linkOf(id, me);
      if (other === undefined) continue;
      const offset = await this.offsetOf(me, other);
      if (offset !== undefined) await this.wait(me, other, offset);
      this.covered.set(id, Math.max(this.covered.get(id) ?? -1, sentAt));
    }
    for (const [slot, h] of handoffs) {
      const other = this.linkOf(h.from, me);
      if (other !== undefined) {
        h.fromOffset ??= await this.offsetOf(me, other);
        if (h.fromOffset !== undefined) await this.wait(me, other, h.fromOffset);
      }
      if (this.o.tracker.handoffs.get(slot) === h) this.o.tracker.handoffs.delete(slot);
    }
  }

  /** The link that reads master `id`, unless it is `me` or there is none (then nothing of it waits to be published). */
  private linkOf(id: string, me: GuardedLink): GuardedLink | undefined {
    const other = [...this.o.links()].find((l) => l.follows(id));
    if (other === undefined) this.o.onBarrier?.('no-link');
    return other === me ? undefined : other;
  }

  private async offsetOf(me: GuardedLink, other: GuardedLink): Promise<number | undefined> {
    try {
      return await this.masterOffset(other.master);
    } catch (err) {
      // Its master is down: its link publishes nothing more until it is back (or its replica takes over).
      this.o.onBarrier?.('unreachable');
      this.o.log.warn({ link: me.name, waitingFor: other.name, err }, 'cannot read the offset of the master a slot came from; publishing without waiting for its link');
      return undefined;
    }
  }

  private async wait(me: GuardedLink, other: GuardedLink, offset: number): Promise<void> {
    const result = await other.whenProcessed(offset, this.o.waitMs);
    this.o.onBarrier?.(result);
    if (result === 'timeout') {
      this.o.log.warn(
        { link: me.name, waitingFor: other.name, offset, waitMs: this.o.waitMs },
        'the link of the master a slot came from did not publish up to its master\'s offset in time; publishing anyway (events of keys that just moved may be out of order)',
      );
    }
  }

  /**
   * For the keys of a DEL/UNLINK read by the link of master E, given what E
   * said of its slots after the link read it: true for each key that E is
   * migrating (or has given away) and that the importing master now holds.
   */
  async movedKeys(own: OwnSlots, keys: Buffer[]): Promise<boolean[]> {
    const result = keys.map(() => false);
    const byNode = new Map<string, number[]>();
    keys.forEach((key, i) => {
      const slot = keySlot(key);
      const to = own.migrating.get(slot) ?? (own.owned[slot] === 1 ? undefined : own.owners.get(slot));
      if (to === undefined || to === own.myId) return;
      const list = byNode.get(to) ?? [];
      list.push(i);
      byNode.set(to, list);
    });
    for (const [id, indexes] of byNode) {
      const address = this.o.tracker.view?.nodes.get(id) ?? own.addresses.get(id);
      if (address === undefined) throw new TandemError('REDIS_UNAVAILABLE', `node ${id}, to which a deleted key's slot moves, is not in the topology yet`);
      const held = await this.holds(address, indexes.map((i) => keys[i]));
      indexes.forEach((i, j) => (result[i] = held[j]));
    }
    return result;
  }

  /** EXISTS of each key on one node, with ASKING so an importing node answers for a slot it does not own yet. */
  private async holds(address: { host: string; port: number }, keys: Buffer[], redirects = 1): Promise<boolean[]> {
    const conn = await this.conn(address);
    const pipeline = conn.pipeline();
    for (const key of keys) pipeline.call('ASKING').call('EXISTS', key);
    const replies = (await pipeline.exec()) ?? [];
    const out: boolean[] = [];
    for (let i = 0; i < keys.length; i++) {
      const [err, n] = replies[2 * i + 1] ?? [new Error('no reply')];
      if (err) {
        // The slot moved on again (MOVED): ask its owner once.
        const moved = /^MOVED \d+ (.+):(\d+)/.exec(err.message);
        if (moved && redirects > 0) {
          out.push((await this.holds({ host: moved[1], port: Number(moved[2]) }, [keys[i]], redirects - 1))[0]);
          continue;
        }
        throw TandemError.wrap('REDIS_UNAVAILABLE', `cannot tell whether ${address.host}:${address.port} holds a key its slot's migration moved`, err);
      }
      out.push(Number(n) > 0);
    }
    return out;
  }

  private async masterOffset(address: { host: string; port: number }): Promise<number> {
    const conn = await this.conn(address);
    const info = await conn.info('replication');
    const m = /master_repl_offset:(\d+)/.exec(info);
    if (!m) throw new TandemError('REDIS_UNAVAILABLE', `${address.host}:${address.port} gave no master_repl_offset`);
    return Number(m[1]);
  }

  private async conn(address: { host: string; port: number }): Promise<Redis> {
    const key = `${address.host}:${address.port}`;
    let conn = this.conns.get(key);
    if (conn === undefined) {
      conn = connectNode(address.host, address.port, this.o.redisOptions, 'replication');
      this.conns.set(key, conn);
      conn.then(
        (r) => r.on('end', () => this.conns.delete(key)),
        () => this.conns.delete(key),
      );
    }
    return conn;
  }

  close(): void {
    for (const c of this.conns.values()) c.then((r) => r.disconnect(), () => undefined);
    this.conns.clear();
  }
}
