import type Redis from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { connectNode } from '../shared/redis-connect';
import type { ChangeEvent } from '../shared/change-event';
import { TandemError, isRetriable } from '../shared/errors';
import type { Logger } from '../shared/logger';
import { POLICIES, Retrier, sleep } from '../shared/retry';
import type { EventBuilder } from './commands/event-builder';
import type { OncePerClusterFilter } from './commands/once-per-cluster';
import type { LinkContext } from './commands/stream-items';
import { matchCheckpoint, parseReplIds, type CheckpointRecord } from '../shared/checkpoint';
import { isReservedKey } from '../shared/marker';
import type { ChangePublisher } from './kafka/publisher';
import { LINK_STATES, type SourceMetrics } from './metrics';
import { KeyeventWatcher, type ServerDeletion } from './replication/keyevent-watcher';
import { isDeletion, isRestoreAsking, ReplicaLink, type ReplicaLinkOptions } from './replication/replica-link';
import { assertMaster } from './replication/role-check';
import type { ReplicatedCommand, ReplicationCheckpoint, ReplicationEvent, ReplicaLinkState } from './replication/types';
import { SnapshotSink } from './snapshot-sink';
import { parseOwnSlots, type OwnSlots } from '../shared/topology/cluster-nodes';
import type { Shard } from '../shared/topology/shard';
import type { TopologyTracker, TopologyView } from './topology/topology-tracker';
import type { GuardedLink, MigrationGuard } from './migration/migration-guard';
import type * as tls from 'node:tls';

/** Consecutive topology reads without the link's master (nor a replica of it) before the link ends as gone. */
const GONE_AFTER_READS = 5;

function hasRestoreAsking(commands: readonly ReplicatedCommand[]): boolean {
  for (const c of commands) if (isRestoreAsking(c.argv)) return true;
  return false;
}

/**
 * Keeps one master's replica link alive: the single error handler of a link.
 *
 * A link belongs to a master (node id, replication identity), not to slots.
 * - Retriable failures (link lost, -LOADING, -NOMASTERLINK, connection refused)
 *   are retried with backoff; before each attempt the topology is re-read and
 *   the link follows its master's shard: after a failover, the promoted
 *   replica, which knows our replid as its replid2, so PSYNC with the old
 *   replid and offset gets +CONTINUE.
 * - A master that is gone from the cluster (del-node), with no replica that
 *   took over, for GONE_AFTER_READS topology reads in a row: run() resolves
 *   with 'gone', and the source retires the link's checkpoint.
 * - Fatal failures (bad credentials, protocol errors, a fenced producer) end
 *   the runner, and the source exits.
 *
 * Checkpoints: the link's position moves only once the publisher has accepted
 * an event, and it is written to Kafka in the transaction of the events before
 * it. Keyed by replid; a replid change tombstones the old key.
 */
export interface LinkRunnerOptions {
  dc: string;
  shard: Shard;
  seeds: { host: string; port: number }[];
  redisOptions: RedisOptions;
  username?: string;
  password?: string;
  tls?: tls.ConnectionOptions;
  listeningPort: number;
  partitions: number;
  /** Checkpoints read from Kafka at start. */
  checkpoints: Map<string, CheckpointRecord>;
  builder: EventBuilder;
  oncePerCluster: OncePerClusterFilter;
  publisher: ChangePublisher;
  metrics: SourceMetrics;
  log: Logger;
  maxEventPayloadBytes: number;
  maxFailures: number;
  tracker: TopologyTracker;
  guard: MigrationGuard;
  /** Another link already follows this node id: this one must not (never two links to one master). */
  followedElsewhere: (nodeId: string, self: LinkRunner) => boolean;
}

export class LinkRunner implements GuardedLink {
  /** Stable name of the link for logs, metrics and the once-per-cluster filter: its first master's address. */
  readonly name: string;
  master: { id: string; host: string; port: number };
  /** Node ids this link has read from: its master, and the masters it followed before. */
  private readonly followed = new Set<string>();
  /** Stream offset up to which everything read is handed to the publisher, and who waits for it. */
  private processed = -1;
  private processedWaiters: { offset: number; resolve: (r: 'reached' | 'ended') => void }[] = [];
  private ended = false;
  private missingReads = 0;
  private endReason: 'gone' | undefined;
  /** What the master said of its own slots after the link read its last chunk with a deletion. */
  private ownSlots: OwnSlots | undefined;
  private checkpoint: Required<ReplicationCheckpoint> | undefined;
  private committedKey: string | undefined;
  /** The last link identity handed to the event builder (linkOf). */
  private lastLink: LinkContext | undefined;
  private link: ReplicaLink | undefined;
  private watcher: KeyeventWatcher | undefined;
  private stopping = false;
  /** Aborted by stop(): cuts a backoff or a topology re-read's pause short. */
  private readonly stopped = new AbortController();
  private lastFullResync: CheckpointRecord['lastFullResync'];
  state: ReplicaLinkState = 'idle';

  constructor(private readonly o: LinkRunnerOptions) {
    this.master = { id: o.shard.master.id, host: o.shard.master.host, port: o.shard.master.port };
    this.name = `${o.shard.master.host}:${o.shard.master.port}`;
    this.followed.add(o.shard.master.id);
    this.setState('idle');
    o.metrics.beforeScrape.add(this.reportOffset);
    // A commit that moved this link's checkpoint moves what it acknowledges to the master: tell it at once (WAIT).
    this.unsubscribe = o.publisher.onCheckpointsCommitted((keys) => {
      const replid = this.link?.replid;
      if (replid !== null && replid !== undefined && keys.has(replid)) this.link?.ack();
    });
  }

  private readonly unsubscribe: () => void;

  private readonly reportOffset = (): void => {
    if (this.checkpoint) this.o.metrics.replOffset.set({ link: this.name }, this.checkpoint.offset);
  };

  get streaming(): boolean {
    return this.state === 'streaming';
  }

  /** The key (replid) of the link's current checkpoint, once it has one. */
  get checkpointKey(): string | undefined {
    return this.committedKey;
  }

  /** The replid the link reads (or last read) under. */
  get replid(): string | undefined {
    return this.link?.replid ?? this.checkpoint?.replid ?? undefined;
  }

  /**
   * Called with every topology read. A master del-node removed may live on,
   * reset and alone; after GONE_AFTER_READS reads without any master this
   * link followed, the link ends ('gone').
   */
  noteTopology(view: TopologyView): void {
    const present = [...this.followed].some((id) => view.nodes.has(id));
    if (present) {
      this.missingReads = 0;
      // Its master turned replica (failover, CLUSTER REPLICATE): a replica streams its master's writes
      // too, which another link may already publish. Reconnect: startingPoint refuses a replica, and
      // retarget follows the shard's master (or ends this link as a duplicate).
      if (view.nodes.get(this.master.id)?.role === 'replica' && this.streaming) {
        this.o.log.warn({ link: this.name, master: this.master }, 'the link\'s master is a replica now; reconnecting to its shard\'s master');
        void this.link?.stop();
      }
      return;
    }
    this.missingReads++;
    if (this.missingReads < GONE_AFTER_READS || this.stopping) return;
    this.o.log.warn({ link: this.name, master: this.master, reads: this.missingReads }, 'the link\'s master is gone from the cluster and no replica took over; ending the link');
    this.endReason = 'gone';
    void this.stop();
  }

  follows(nodeId: string): boolean {
    return this.followed.has(nodeId);
  }

  get followedIds(): ReadonlySet<string> {
    return this.followed;
  }

  whenProcessed(offset: number, timeoutMs: number): Promise<'reached' | 'ended' | 'timeout'> {
    if (this.processed >= offset) return Promise.resolve('reached');
    if (this.ended) return Promise.resolve('ended');
    return new Promise((resolve) => {
      const waiter = {
        offset,
        resolve: (r: 'reached' | 'ended') => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      const timer = setTimeout(() => {
        this.processedWaiters = this.processedWaiters.filter((w) => w !== waiter);
        resolve('timeout');
      }, timeoutMs);
      this.processedWaiters.push(waiter);
    });
  }

  private setProcessed(offset: number): void {
    this.processed = offset;
    if (this.processedWaiters.length === 0) return;
    const still: typeof this.processedWaiters = [];
    for (const w of this.processedWaiters) {
      if (w.offset <= offset) w.resolve('reached');
      else still.push(w);
    }
    this.processedWaiters = still;
  }

  /**
   * Runs until stop() (resolves 'stopped'), until its master is gone from the
   * cluster ('gone') or another link follows it ('duplicate'), or a fatal
   * error (rejects).
   */
  async run(): Promise<'stopped' | 'gone' | 'duplicate'> {
    try {
      return await this.runUntilEnd();
    } finally {
      this.ended = true;
      for (const w of this.processedWaiters) w.resolve('ended');
      this.processedWaiters = [];
    }
  }

  private async runUntilEnd(): Promise<'stopped' | 'gone' | 'duplicate'> {
    // The bound is on consecutive failures: reaching 'streaming' resets it.
    const retrier = new Retrier(POLICIES.replicaLink, { attempts: this.o.maxFailures, signal: this.stopped.signal });
    while (!this.stopping) {
      try {
        await this.attempt(() => retrier.reset());
        if (this.stopping) return this.endReason ?? 'stopped';
      } catch (err) {
        if (this.stopping) return this.endReason ?? 'stopped';
        if (!isRetriable(err)) throw err;
        this.o.metrics.linkFailures.inc({ link: this.name });
        if (!retrier.spend()) {
          throw TandemError.exhausted(`link ${this.name} gave up after ${this.o.maxFailures} consecutive failures`, err);
        }
        const delay = retrier.nextDelay();
        this.o.log.warn({ link: this.name, err, attempt: retrier.failures, delayMs: delay }, 'replica link failed; retrying');
        await sleep(delay, this.stopped.signal);
        const next = await this.retarget();
        if (next !== 'follow') return next;
      }
    }
    return this.endReason ?? 'stopped';
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.stopped.abort();
    await this.link?.stop();
    this.reportOffset();
    this.o.metrics.beforeScrape.delete(this.reportOffset);
    this.unsubscribe();
  }

  /**
   * Re-reads the topology and follows the link's master: the master of the
   * shard it is in now (after a failover, the promoted replica), or a master
   * that carries on our replication history (its replid or replid2 is ours,
   * when the old master was forgotten). 'gone' when there is neither for
   * GONE_AFTER_READS reads in a row.
   */
  private async retarget(): Promise<'follow' | 'gone' | 'duplicate'> {
    let shard: Shard | undefined;
    // A master missing from the cluster is not reconnected to (del-node leaves it running, reset and
    // alone); each read here is also counted by notePresence, which ends the link once it stays gone.
    for (let read = 0; shard === undefined && read <= GONE_AFTER_READS; read++) {
      if (read > 0) await sleep(1000, this.stopped.signal);
      if (this.stopping) return this.endReason ?? 'follow';
      let view: TopologyView;
      try {
        view = await this.o.tracker.refresh();
      } catch (err) {
        this.o.log.warn({ link: this.name, err }, 'cannot re-read the topology; retrying the last known master');
        return 'follow';
      }
      const member = (s: Shard) => [s.master, ...s.replicas].some((n) => this.followed.has(n.id));
      // A live master of our shard, else one carrying on our history, else our failed master itself (wait
      // for its failover: Redis 7.0 lists a failed master in a shard of its own, without its replicas).
      shard = view.shards.find((s) => member(s) && s.master.health === 'online') ?? (await this.heirOf(view.shards)) ?? view.shards.find(member);
    }
    if (this.endReason !== undefined) return this.endReason;
    if (shard === undefined) return 'follow';
    const next = shard.master;
    if (next.id !== this.master.id) {
      if (this.o.followedElsewhere(next.id, this)) {
        this.o.log.warn({ link: this.name, master: `${next.host}:${next.port}` }, 'another link already reads this shard\'s new master; ending this one (never two links to one master)');
        return 'duplicate';
      }
      this.o.log.warn({ link: this.name, from: `${this.master.host}:${this.master.port}`, to: `${next.host}:${next.port}` }, 'shard has a new master (failover); following it');
      this.master = { id: next.id, host: next.host, port: next.port };
      this.followed.add(next.id);
    }
    return 'follow';
  }

  /** A master no link follows whose replication history continues ours (replid or replid2). */
  private async heirOf(shards: Shard[]): Promise<Shard | undefined> {
    const replid = this.checkpoint?.replid;
    if (replid === undefined) return undefined;
    for (const shard of shards) {
      if (this.o.followedElsewhere(shard.master.id, this)) continue;
      let r: Redis | undefined;
      try {
        r = await connectNode(shard.master.host, shard.master.port, this.o.redisOptions, 'replication');
        const ids = parseReplIds(await r.info('replication'));
        if (ids.replid === replid || ids.replid2 === replid) return shard;
      } catch {
        // Unreachable now: it is asked again at the next retarget.
      } finally {
        r?.disconnect();
      }
    }
    return undefined;
  }

  /** The position to PSYNC from: our own, else a committed checkpoint this master can continue. */
  private async startingPoint(): Promise<Required<ReplicationCheckpoint> | undefined> {
    let r: Redis | undefined;
    try {
      r = await connectNode(this.master.host, this.master.port, this.o.redisOptions, 'replication');
      // A replica would stream its master's writes: the link of that master publishes them (role-check.ts).
      const info = await assertMaster(r, `${this.master.host}:${this.master.port}`, 'before PSYNC');
      if (this.checkpoint) return this.checkpoint;
      const ids = parseReplIds(info);
      const match = matchCheckpoint(ids, this.o.checkpoints);
      if (!match) return undefined;
      if (match.partitions !== this.o.partitions) {
        throw new TandemError('TOPIC_MISMATCH', `checkpoint for ${this.name} was written with ${match.partitions} partitions, topic has ${this.o.partitions}; refusing to run (DESIGN: P never changes)`);
      }
      this.committedKey = match.replid;
      this.lastFullResync = match.lastFullResync;
      return { replid: match.replid, offset: match.offset, db: match.db };
    } catch (err) {
      if (err instanceof TandemError) throw err;
      throw TandemError.wrap('REDIS_UNAVAILABLE', `cannot read INFO replication from ${this.name}`, err);
    } finally {
      r?.disconnect();
    }
  }

  private async attempt(onStreaming: () => void): Promise<void> {
    const from = await this.startingPoint();
    // Subscribed before the stream starts, so no notification of a deletion in it is missed.
    const watcher = new KeyeventWatcher({
      host: this.master.host,
      port: this.master.port,
      redisOptions: this.o.redisOptions,
      log: this.o.log.child({ link: this.name }),
      onStale: (n) => this.o.metrics.deletionNotices.inc({ link: this.name, result: 'stale' }, n),
    });
    await watcher.start();
    this.watcher = watcher;
    let control: Redis | undefined;
    try {
      // Asked what the master migrates after each chunk with a deletion (sampleOwnSlots).
      control = await connectNode(this.master.host, this.master.port, this.o.redisOptions, 'replication').catch((err: unknown) => {
        throw TandemError.wrap('REDIS_UNAVAILABLE', `cannot open the control connection to ${this.master.host}:${this.master.port}`, err);
      });
      const ctl = control;
      const endpoint = `${this.master.host}:${this.master.port}`;
      await this.stream(from, onStreaming, {
        beforeDeletions: () => Promise.all([watcher.fence(), this.sampleOwnSlots(ctl)]).then(() => undefined),
        // It may have turned into a replica since startingPoint's check: nothing of its answer is read then.
        afterPsync: () => assertMaster(ctl, endpoint, 'when it answered PSYNC').then(() => undefined),
      });
    } finally {
      watcher.stop();
      control?.disconnect();
      this.watcher = undefined;
      this.ownSlots = undefined;
    }
  }

  /**
   * CLUSTER NODES of the link's master, read after the link read a deletion:
   * the slots it migrates and owns at that point or later, which tells a
   * MIGRATE's DEL from a client's (migration-guard.ts).
   */
  private async sampleOwnSlots(control: Redis): Promise<void> {
    try {
      this.ownSlots = parseOwnSlots(String(await control.call('CLUSTER', 'NODES')));
    } catch (err) {
      throw TandemError.wrap('REDIS_UNAVAILABLE', `cannot read CLUSTER NODES of ${this.master.host}:${this.master.port}`, err);
    }
  }

  private async stream(
    from: ReplicationCheckpoint | undefined,
    onStreaming: () => void,
    checks: Pick<ReplicaLinkOptions, 'beforeDeletions' | 'afterPsync'>,
  ): Promise<void> {
    const context = (): LinkContext => ({ nodeId: this.master.id, replId: this.link?.replid ?? from?.replid ?? '' });
    const snapshot = new SnapshotSink({
      builder: this.o.builder,
      context,
      publish: (events) => this.publish(events),
      maxEventPayloadBytes: this.o.maxEventPayloadBytes,
      log: this.o.log.child({ link: this.name }),
      onBytes: (n) => this.o.metrics.rdbBytes.inc({ link: this.name }, n),
      onKey: () => this.o.metrics.snapshotKeys.inc({ link: this.name }),
      onComplete: ({ replid, offset }) => this.advance({ replid, offset, db: 0 }),
    });
    const link = new ReplicaLink({
      host: this.master.host,
      port: this.master.port,
      username: this.o.username,
      password: this.o.password,
      tls: this.o.tls,
      listeningPort: this.o.listeningPort,
      checkpoint: from,
      logger: this.o.log.child({ link: this.name }),
      rdbSink: snapshot,
      commandSink: {
        onEvent: (ev) => this.onEvent(ev, context()),
        onCheckpoint: (cp) => this.advance(cp),
      },
      ...checks,
      // REPLCONF ACK reports what is committed to Kafka, not what was read: WAIT on the master then means "in Kafka".
      ackOffset: () => this.o.publisher.committedOffset(this.link?.replid ?? '') ?? 0,
    });
    this.link = link;
    link.on('state', (s: ReplicaLinkState) => {
      this.setState(s);
      if (s === 'streaming') this.o.builder.linkStreaming(this.master.id);
      if (s === 'streaming') onStreaming();
    });
    link.on('fullresync', (info: { replid: string; offset: number; reason: string }) => {
      this.o.metrics.fullResyncs.inc({ link: this.name, reason: info.reason });
      this.lastFullResync = { at: Date.now(), reason: info.reason, replid: info.replid };
      this.o.builder.forgetVectors(this.master.id); // markers written in the gap were never read: stamps unknown until primed again
      this.o.log.warn({ link: this.name, ...info }, 'FULL RESYNC: the master sends its whole dataset; snapshot events follow');
    });
    link.on('continue', (info: { replid: string; offset: number; replidChanged: boolean }) => {
      this.o.metrics.partialResyncs.inc({ link: this.name });
      this.o.log.info({ link: this.name, ...info }, 'partial resync (+CONTINUE)');
      if (info.replidChanged) this.advance({ replid: info.replid, offset: info.offset, db: this.checkpoint?.db ?? from?.db ?? 0 });
    });
    try {
      await link.run();
    } finally {
      if (link.checkpoint) this.checkpoint = link.checkpoint;
      this.setState(this.stopping ? 'closed' : 'connecting');
    }
  }

  private async onEvent(ev: ReplicationEvent, context: LinkContext): Promise<void> {
    const link = this.linkOf(context, ev.checkpoint.replid);
    let commands = ev.commands;
    // RESTORE-ASKING is only ever sent by MIGRATE: a key moving in from another master of this cluster.
    if (hasRestoreAsking(commands)) {
      const kept = commands.filter((c) => !isRestoreAsking(c.argv));
      this.o.metrics.migratedKeys.inc({ link: this.name, direction: 'in' }, commands.length - kept.length);
      commands = kept;
      // A reshard is on: a hint to re-read the topology now rather than at the next period.
      this.o.tracker.refresh().catch(() => undefined);
    }
    const deletions = this.serverDeletions(commands);
    let rest = deletions?.rest ?? commands;
    if (this.ownSlots !== undefined && rest.some((c) => isDeletion(c.argv))) rest = await this.withoutMigrationDeletions(rest, this.ownSlots);
    if (deletions === undefined && rest === ev.commands) {
      await this.publish(this.o.builder.build(ev, link), ev.checkpoint);
      return;
    }
    // Each server deletion becomes an event of its own kind, ahead of what
    // remains of the item: inside a transaction a lazy expiry's DEL comes
    // before the command that met the expired key, and the key expired before
    // the transaction began, so moving it to the front changes nothing.
    const events: ChangeEvent[] = [];
    for (const d of deletions?.found ?? []) {
      // An evicted marker is this DC's bookkeeping, not data: nothing for the peers.
      if (isReservedKey(d.command.argv[1])) continue;
      const item: ReplicationEvent = { type: 'command', db: d.command.db, commands: [d.command], checkpoint: ev.checkpoint };
      for (const e of this.o.builder.build(item, link)) events.push({ ...e, kind: d.kind, origin: this.o.dc });
    }
    if (rest.length > 0) {
      const remaining: ReplicationEvent = { ...ev, db: rest[0].db, commands: rest };
      events.push(...this.o.builder.build(remaining, link));
    }
    events.forEach((e, i) => (e.seq = i)); // (replId, replOffset, seq) names an event
    await this.publish(events, ev.checkpoint);
  }

  /**
   * The commands without the keys that a MIGRATE's DEL removed from this
   * master because they moved to another one (migration-guard.ts): a DEL
   * left with no key is dropped.
   */
  private async withoutMigrationDeletions(commands: ReplicatedCommand[], own: OwnSlots): Promise<ReplicatedCommand[]> {
    const out: ReplicatedCommand[] = [];
    let changed = false;
    for (const c of commands) {
      if (!isDeletion(c.argv) || c.argv.length < 2) {
        out.push(c);
        continue;
      }
      const keys = c.argv.slice(1);
      const moved = await this.o.guard.movedKeys(own, keys);
      const n = moved.filter(Boolean).length;
      if (n === 0) {
        out.push(c);
        continue;
      }
      changed = true;
      this.o.metrics.migratedKeys.inc({ link: this.name, direction: 'out' }, n);
      if (n < keys.length) out.push({ ...c, argv: [c.argv[0], ...keys.filter((_, i) => !moved[i])] });
    }
    return changed ? out : commands;
  }

  /** The DEL/UNLINKs among `commands` that the master made itself (expiry, eviction), or undefined when there are none. */
  private serverDeletions(commands: ReplicatedCommand[]): { found: { command: ReplicatedCommand; kind: ServerDeletion }[]; rest: ReplicatedCommand[] } | undefined {
    const watcher = this.watcher;
    if (watcher === undefined || watcher.waiting === 0) return undefined;
    let found: { command: ReplicatedCommand; kind: ServerDeletion }[] | undefined;
    const rest: ReplicatedCommand[] = [];
    for (const c of commands) {
      const kind = c.argv.length === 2 && isDeletion(c.argv) ? watcher.take(c.db, c.argv[1]) : undefined;
      if (kind === undefined) rest.push(c);
      else (found ??= []).push({ command: c, kind });
    }
    if (found === undefined) return undefined;
    for (const f of found) this.o.metrics.deletionNotices.inc({ link: this.name, result: f.kind });
    return { found, rest };
  }

  /** The link's identity for the event builder, one object per (node, replid) rather than one per event. */
  private linkOf(context: LinkContext, replId: string): LinkContext {
    const last = this.lastLink;
    if (last !== undefined && last.nodeId === context.nodeId && last.replId === replId) return last;
    return (this.lastLink = { ...context, replId });
  }

  private async publish(events: ChangeEvent[], checkpoint?: Required<ReplicationCheckpoint>): Promise<void> {
    // One event without a dedupe key (the common case) is admitted without a copy of the list.
    const admitted = events.length === 1 && events[0].dedupeKey === null ? events : events.filter((e) => e.dedupeKey === null || this.o.oncePerCluster.admit(e.dedupeKey, this.name));
    // Keys that moved here from another master: that master's earlier writes go first.
    if (this.needsOrder(admitted)) {
      await this.o.guard.orderAfter(this, new Set(admitted.map((e) => e.slot)), this.link?.readAt ?? performance.now());
    }
    for (let i = 0; i < admitted.length; i++) {
      const last = i === admitted.length - 1;
      await this.o.publisher.append(admitted[i], last && checkpoint ? this.checkpointRecord(checkpoint) : undefined);
    }
    if (admitted.length === 0 && checkpoint) this.advance(checkpoint);
    else if (checkpoint) this.track(checkpoint);
  }

  private needsOrder(events: readonly ChangeEvent[]): boolean {
    for (const e of events) if (this.o.guard.needsOrder(this, e.slot)) return true;
    return false;
  }

  /** Moves the committed position without an event (idle stream, end of an RDB, new replid). */
  private advance(cp: Required<ReplicationCheckpoint>): void {
    const rec = this.checkpointRecord(cp);
    this.o.publisher.setCheckpoint(rec.key, rec.record, rec.retire);
    this.track(cp);
  }

  private track(cp: Required<ReplicationCheckpoint>): void {
    this.checkpoint = cp;
    this.committedKey = cp.replid;
    this.setProcessed(cp.offset);
  }

  /** The checkpoint after `cp`; its record is built only if it is the one a transaction writes. */
  private checkpointRecord(cp: Required<ReplicationCheckpoint>): { key: string; record: () => CheckpointRecord; retire?: string } {
    const { master, lastFullResync } = this;
    return {
      key: cp.replid,
      retire: this.committedKey !== undefined && this.committedKey !== cp.replid ? this.committedKey : undefined,
      record: () => ({
        replid: cp.replid,
        offset: cp.offset,
        db: cp.db,
        nodeId: master.id,
        address: `${master.host}:${master.port}`,
        partitions: this.o.partitions,
        dc: this.o.dc,
        updatedAt: Date.now(),
        lastFullResync,
      }),
    };
  }

  private setState(state: ReplicaLinkState): void {
    this.state = state;
    for (const s of LINK_STATES) this.o.metrics.linkState.set({ link: this.name, state: s }, s === state ? 1 : 0);
    this.o.metrics.linkUp.set({ link: this.name }, state === 'streaming' ? 1 : 0);
  }
}
