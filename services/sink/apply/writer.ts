import { LogSampler } from '../../shared/log-sampler';
import { TandemError, errorMessage } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import { formatMarkerValue, markerKey, type MarkerValue } from '../../shared/marker';
import { commandBytes, encodeCommand, encodePrefix, RespBuffer } from '../../shared/resp';
import { POLICIES, Retrier } from '../../shared/retry';
import { SLOT_COUNT } from '../../shared/slot';
import type { ApplyItem, ItemOutcome } from './apply-item';
import type { ClusterRouter } from './cluster-router';
import { isApplied, type CachedMarker, type MarkerCache } from './marker-cache';
import { MARKER_GONE, MARKER_GUARD, TargetBehindError, isBehind } from './marker-guard';
import { classifyApplyError, isReplyError, transientReason } from './reply-errors';
import type { Reply } from './resp-pipe';
import type { SlotRun } from './slot-batcher';

/**
 * Applies slot runs to the target cluster (DESIGN §3-4):
 *
 *   MULTI
 *   SET __tandem:{<slottag>}:o:<origin> <partition>:<offset>:<index of the run's last event>
 *   <every command of every event of the run>
 *   EXEC
 *
 * Before sending, events at or below the slot's marker are skipped, so a run
 * re-read after a crash (applied, not yet committed) is never applied twice.
 * Each run is encoded as RESP in one buffer; the runs of different slots on
 * one master go through its RespPipe, which writes all the blocks of one turn
 * of the event loop at once and reads the replies in order (pipelining).
 *
 * Failures (see reply-errors.ts): transient ones are retried under a bound
 * after dropping the cached marker (a lost connection may or may not have run
 * the EXEC; the marker in Redis says which); an EXECABORT caused by an event
 * re-applies the run one event at a time, so only the bad event is rejected.
 *
 * With `guard` (the sink), each block is preceded by WATCH and a check of the
 * marker (marker-guard.ts): a block whose marker changed since the sink read
 * it (another sink applied; the target lost writes in a failover) does not
 * run, EXEC answers nil, and the run is retried from a fresh read of the
 * marker. The writer remembers the last address it applied per (slot,
 * origin); a fresh marker behind it means the target lost writes, and the
 * partition is rewound (TargetBehindError). With `durability`, `makeDurable`
 * WAITs for replicas on every master a batch wrote to before the batch's
 * offset may be committed.
 */
export interface Durability {
  /** replicas to WAIT for: a number, or 'auto' (1 where the master has a live replica, else none) */
  replicas: 'auto' | number;
  timeoutMs: number;
}

export type ReplicaWaitResult = 'acked' | 'timeout' | 'no-replica' | 'connection-lost';

export interface WriterOptions {
  /** What the writer needs of a router; `tandem replay` passes a single-node one. */
  router: Pick<ClusterRouter, 'master' | 'client' | 'pipe' | 'refresh'> & Partial<Pick<ClusterRouter, 'replicaCount' | 'masterKey'>>;
  /** WATCH + check the marker before each MULTI (the sink). Off for a replay that ignores the markers. */
  guard?: boolean;
  /** WAIT for replicas before a batch's offsets are committed (makeDurable); undefined: never. */
  durability?: Durability;
  /** An EXEC answered nil: the marker was not what the sink read (guard). */
  onGuardAbort?: () => void;
  /** A marker read back behind what was applied while its master and connection stayed the same (eviction, FLUSHALL, DEL): no rewind. */
  onMarkerLost?: () => void;
  onReplicaWait?: (result: ReplicaWaitResult) => void;
  markers: MarkerCache;
  retries: number;
  backoffMs: number;
  maxBackoffMs: number;
  log: Logger;
  onRetry?: (reason: string) => void;
  /** A slot run starts (+1) or stops (-1) waiting for the target to have memory again (OOM). */
  onTargetFull?: (delta: 1 | -1) => void;
  /** Stops retrying early when the sink shuts down. */
  stopping?: () => boolean;
}

// The constant parts of a block, encoded once (RESP of each is in resp.ts).
const ASKING = encodeCommand(['ASKING']);
const MULTI = encodeCommand(['MULTI']);
const EXEC = encodeCommand(['EXEC']);
const WATCH_HEAD = encodePrefix(2, ['WATCH']);
const GUARD_HEAD = encodePrefix(6, ['EVAL', MARKER_GUARD, '1']);
const SET_HEAD = encodePrefix(3, ['SET']);
/** An empty, frozen outcome list: a run with nothing skipped allocates none. */
const NONE_SKIPPED = Object.freeze([]) as unknown as ItemOutcome[];

/** Where a run's marker is (slot, origin) and what a rewind of it needs (partition, topic): checkNotBehind and the ledger's read-back. */
function placeOf(run: SlotRun): { slot: number; origin: string; partition: number; topic: string } {
  return { slot: run.slot, origin: run.origin, partition: run.partition, topic: run.items[0]?.record.topic ?? '' };
}

/** Marker keys per origin and slot, built once each (markerKey validates the origin and formats the slot tag). */
class MarkerKeys {
  private readonly byOrigin = new Map<string, (string | undefined)[]>();
  of(slot: number, origin: string): string {
    let keys = this.byOrigin.get(origin);
    if (keys === undefined) this.byOrigin.set(origin, (keys = new Array<string | undefined>(SLOT_COUNT)));
    return (keys[slot] ??= markerKey(slot, origin));
  }
}

/** An address this sink applied, and the master and connection that took the write. */
type Applied = MarkerValue & { index: number; node?: string; conn?: number };

/** The masters one batch wrote to, with the connections that carried its EXECs and the runs applied there. */
export class ApplyLedger {
  readonly masters = new Map<string, { conns: Set<number>; seq: number; runs: Map<string, { slot: number; origin: string; partition: number; topic: string }> }>();

  /** `seq`: the pipe's number of the block's write (RespPipe.sendTracked), what the master's WAIT must cover. */
  note(master: string, conn: number, seq: number, run: SlotRun): void {
    let m = this.masters.get(master);
    if (m === undefined) this.masters.set(master, (m = { conns: new Set(), seq, runs: new Map() }));
    m.conns.add(conn);
    if (seq > m.seq) m.seq = seq;
    m.runs.set(`${run.origin}/${run.slot}`, placeOf(run));
  }
}

export class Writer {
  /** Per origin, per slot: the first and the last address this sink applied since its partitions were assigned. */
  private readonly first = new Map<string, (Applied | undefined)[]>();
  private readonly last = new Map<string, (Applied | undefined)[]>();
  /** Masters found without a live replica under waitReplicas auto (logged once each, until they have one again). */
  private readonly unreplicated = new Set<string>();

  /** Both can happen once per slot at a time (a FLUSHALL of the target): one line per 5 s, the rest counted in it. */
  private readonly abortLog = new LogSampler();
  private readonly markerKeys = new MarkerKeys();
  private readonly lostLog = new LogSampler();

  constructor(private readonly o: WriterOptions) {}

  /** Forget what was applied (at a partition assignment: another sink may apply these slots now). */
  forgetApplied(): void {
    this.first.clear();
    this.last.clear();
  }

  private appliedOf(map: Map<string, (Applied | undefined)[]>, origin: string): (Applied | undefined)[] {
    let slots = map.get(origin);
    if (slots === undefined) map.set(origin, (slots = new Array<Applied | undefined>(SLOT_COUNT)));
    return slots;
  }

  /**
   * Throws TargetBehindError when `marker` (just read from the target) is
   * behind what this sink applied in the slot and a failover may have lost
   * those writes: the slot's master, or the connection that carried them,
   * changed since. The rewind goes to the marker's record (events up to its
   * index are skipped again), or, with no marker left, to the first event
   * this sink applied in the slot.
   *
   * Behind while the same master answers on the same connection, the writes
   * were not lost: something deleted or rewrote the marker (eviction under an
   * allkeys-* policy, FLUSHALL, a DEL). Re-applying from the first event would
   * apply INCRs twice and bring back overwritten values, so there is no
   * rewind: the result is what this sink applied, used to skip what it covers
   * (the next block writes the marker again); logged and counted.
   */
  private async checkNotBehind(run: { slot: number; origin: string; partition: number; topic: string }, marker: MarkerValue | null): Promise<MarkerValue | null> {
    if (!this.mayBeBehind(run, marker)) return marker;
    const last = this.appliedOf(this.last, run.origin);
    const mine = last[run.slot]!;
    if (!(await this.couldHaveLost(run.slot, mine))) {
      this.markerLost(run, marker, mine);
      return { partition: mine.partition, offset: mine.offset, index: mine.index };
    }
    const first = this.appliedOf(this.first, run.origin);
    const offset = marker !== null ? marker.offset : (first[run.slot]?.offset ?? mine.offset);
    last[run.slot] = marker !== null && marker.index !== undefined ? { ...marker, index: marker.index } : undefined;
    if (marker === null) first[run.slot] = undefined;
    throw new TargetBehindError(
      run.topic,
      run.partition,
      offset,
      `slot ${run.slot}, origin ${run.origin}: the target's marker (${marker === null ? 'none' : `${marker.partition}:${marker.offset}:${marker.index ?? '*'}`}) is behind what this sink applied (${mine.partition}:${mine.offset}:${mine.index}); a failover of the target lost writes; rewinding partition ${run.partition} to offset ${offset}`,
    );
  }

  /** The part of checkNotBehind that needs no await: false when `marker` cannot be behind what this sink applied. */
  private mayBeBehind(run: { slot: number; origin: string }, marker: MarkerValue | null): boolean {
    if (!this.o.guard) return false;
    const mine = this.last.get(run.origin)?.[run.slot];
    return mine !== undefined && isBehind(marker, mine);
  }

  /** Counts and logs (sampled) a marker found behind what this sink applied, with no failover since: not re-applied. */
  private markerLost(run: { slot: number; origin: string }, marker: MarkerValue | null, mine: MarkerValue & { index: number }): void {
    this.o.onMarkerLost?.();
    this.lostLog.sample((suppressed) =>
      this.o.log.warn(
        { slot: run.slot, origin: run.origin, marker: marker === null ? null : `${marker.partition}:${marker.offset}:${marker.index ?? '*'}`, applied: `${mine.partition}:${mine.offset}:${mine.index}`, suppressed },
        'the marker is behind what this sink applied, with no failover of its master since (evicted, flushed or deleted?): not re-applying; the next write restores it',
      ),
    );
  }

  /**
   * Whether the guard may take a missing marker for the one this sink
   * applied last in the slot: that write went over the connection the block
   * goes over now, to the master it goes to, so no failover can have lost it
   * (checkNotBehind's rule, decided here without a round trip). The marker
   * was deleted (FLUSHALL, eviction, DEL), not lost: a block that aborted on
   * it would only be re-sent after a GET, as the same block.
   */
  private missingIsOurs(run: SlotRun, node: string, connId: number | undefined, expected: CachedMarker | null): boolean {
    const mine = this.appliedOf(this.last, run.origin)[run.slot];
    return mine !== undefined && expected !== null && mine.node === node && connId !== undefined && mine.conn === connId && expected.partition === mine.partition && expected.offset === mine.offset && expected.index === mine.index;
  }

  /** Whether writes made on `mine`'s connection can be gone: the slot's master is another node now, or that connection closed. */
  private async couldHaveLost(slot: number, mine: Applied): Promise<boolean> {
    if (mine.node === undefined || mine.conn === undefined) return true;
    try {
      const { key } = await this.o.router.master(slot);
      return key !== mine.node || this.o.router.pipe(key).connId !== mine.conn;
    } catch {
      return true;
    }
  }

  /** Reads a marker, following ASK (the key may already sit on the importing node). */
  async readMarker(slot: number, origin: string): Promise<Buffer | null> {
    const key = this.markerKeys.of(slot, origin);
    const { client } = await this.o.router.master(slot);
    try {
      return await client.getBuffer(key);
    } catch (err) {
      if (!isReplyError(err) || transientReason(err.message) !== 'ASK') throw err;
      const target = this.o.router.client(err.message.split(' ')[2]);
      const replies = (await target.pipeline().asking().getBuffer(key).exec()) ?? [];
      for (const [replyErr] of replies) if (replyErr) throw replyErr;
      return (replies[1]?.[1] as Buffer | null | undefined) ?? null;
    }
  }

  /** Applies the runs of one slot lane in order. A lane of one run (the common case) is that run's promise, not one more. */
  applyLane(runs: SlotRun[], ledger?: ApplyLedger): Promise<ItemOutcome[]> {
    return runs.length === 1 ? this.applyRun(runs[0], ledger) : this.applyRuns(runs, ledger);
  }

  private async applyRuns(runs: SlotRun[], ledger?: ApplyLedger): Promise<ItemOutcome[]> {
    const out: ItemOutcome[] = [];
    for (const run of runs) for (const o of await this.applyRun(run, ledger)) out.push(o);
    return out;
  }

  /** One async call per run and no closure on its common path: at load a run is mostly one event, so this is per event. */
  async applyRun(run: SlotRun, ledger?: ApplyLedger): Promise<ItemOutcome[]> {
    // What a run needs only when something goes wrong is made then.
    const where = new RunPlace(run);
    let ask: string | undefined;
    // OOM retries are not counted against `retries`: a full target waits for memory, however long.
    let retrier: Retrier | undefined;
    let full = false; // counted in onTargetFull while the run waits for memory
    try {
      for (let attempt = 0; ; attempt++) {
        let skipped: ItemOutcome[] = NONE_SKIPPED;
        let pending: ApplyItem[] = [];
        try {
          const cached = this.o.markers.peek(run.slot, run.origin);
          const marker = cached !== undefined ? cached : await this.o.markers.get(run.slot, run.origin);
          const covered = this.mayBeBehind(run, marker) ? await this.checkNotBehind(placeOf(run), marker) : marker;
          pending = run.items;
          if (covered !== null) {
            // Items at or below the marker (re-read after a crash, or applied by an earlier owner) are skipped.
            for (let n = 0; n < run.items.length; n++) {
              const item = run.items[n];
              if (isApplied(covered, run.partition, item.offset, item.index, where)) {
                if (skipped === NONE_SKIPPED) {
                  skipped = [];
                  pending = run.items.slice(0, n);
                }
                skipped.push({ item, status: 'skipped-applied' });
              } else if (skipped !== NONE_SKIPPED) pending.push(item);
            }
          }
          if (pending.length === 0) return skipped;
          const sent = await this.exec(run, pending, ask, marker);
          full = this.fullChanged(full, false);
          if (sent.replies === null) {
            // The guard aborted the block: the marker is not what we read. Nothing ran; re-read it and retry.
            this.o.onGuardAbort?.();
            this.o.markers.invalidate(run.slot, run.origin);
            if (!(retrier ??= this.applyRetrier()).spend() || this.o.stopping?.()) {
              throw TandemError.exhausted(`${where.text}: the marker kept changing under the sink (${attempt + 1} attempts); is another sink applying this partition?`);
            }
            if (attempt === 0 || attempt % 10 === 0) {
              this.abortLog.sample((suppressed) => this.o.log.warn({ slot: run.slot, origin: run.origin, attempt, suppressed }, 'marker changed since it was read (another sink applied, or the target lost writes); nothing ran, re-reading it'));
            }
            continue;
          }
          const first = pending[0];
          const last = pending[pending.length - 1];
          this.o.markers.set(run.slot, run.origin, { partition: run.partition, offset: last.offset, index: last.index }, sent.marker);
          if (this.o.guard) {
            this.appliedOf(this.last, run.origin)[run.slot] = { partition: run.partition, offset: last.offset, index: last.index, node: sent.node, conn: sent.conn };
            const firsts = this.appliedOf(this.first, run.origin);
            firsts[run.slot] ??= { partition: run.partition, offset: first.offset, index: first.index };
          }
          ledger?.note(sent.node, sent.conn, sent.seq, run);
          if (sent.markerGone && marker !== null) this.markerLost(run, null, { ...marker, index: marker.index ?? 0 });
          const applied = mapReplies(pending, sent.replies, where);
          return skipped.length === 0 ? applied : skipped.concat(applied);
        } catch (err) {
          if (err instanceof TargetBehindError) throw err;
          const c = classifyApplyError(err);
          if (c.kind === 'fatal') throw err;
          if (c.kind === 'queue-error') {
            full = this.fullChanged(full, false);
            // EXECABORT: nothing ran, the cached marker is still right.
            if (pending.length <= 1) return skipped.concat(pending.map((item) => ({ item, status: 'rejected' as const, error: c.message })));
            this.o.log.warn({ slot: run.slot, events: pending.length, err: c.message }, 'transaction refused at queue time; applying its events one by one to isolate the bad one');
            const out = skipped.slice();
            for (const item of pending) out.push(...(await this.applyRun({ ...run, items: [item] })));
            return out;
          }
          if ((!c.full && !(retrier ??= this.applyRetrier()).spend()) || this.o.stopping?.()) {
            throw new TandemError('RETRIES_EXHAUSTED', `${where.text}: apply failed after ${attempt + 1} attempts: ${c.message}`, { cause: err });
          }
          full = this.fullChanged(full, c.full === true);
          this.o.onRetry?.(c.reason);
          this.o.markers.invalidate(run.slot, run.origin);
          ask = c.ask;
          if (c.full) {
            if (attempt === 0 || attempt % 50 === 0) this.o.log.warn({ slot: run.slot, attempt, err: c.message }, 'target out of memory (OOM): this slot waits and retries until the target has memory again; raise maxmemory or free memory on the target');
          } else if (attempt === 0 || attempt % 10 === 0) {
            this.o.log.warn({ slot: run.slot, attempt, reason: c.reason, err: c.message }, 'transient target error; retrying');
          }
          if (c.refresh) {
            await this.o.router.refresh().catch((refreshErr: unknown) => {
              // Counted as part of this attempt: the next one fails again and is bounded by `retries`.
              this.o.log.warn({ err: errorMessage(refreshErr) }, 'cannot refresh the target slot map');
            });
          }
          if (c.reason !== 'MOVED' && c.reason !== 'ASK') await (retrier ??= this.applyRetrier()).wait();
        }
      }
    } finally {
      if (full) this.o.onTargetFull?.(-1);
    }
  }

  /** A run starts or stops waiting for the target's memory: counted in onTargetFull on each change. */
  private fullChanged(was: boolean, now: boolean): boolean {
    if (was !== now) this.o.onTargetFull?.(now ? 1 : -1);
    return now;
  }

  private applyRetrier(): Retrier {
    return new Retrier(POLICIES.targetApply(this.o.backoffMs, this.o.maxBackoffMs), { attempts: this.o.retries });
  }

  /**
   * Sends one block; `replies` is null when the guard aborted it (EXEC nil).
   * `node` and `conn` say where it ran, for the WAIT of makeDurable.
   */
  private async exec(run: SlotRun, items: ApplyItem[], ask: string | undefined, expected: CachedMarker | null): Promise<{ replies: Reply[] | null; node: string; conn: number; seq: number; markerGone: boolean; marker: string }> {
    const node = ask ?? this.o.router.masterKey?.(run.slot) ?? (await this.o.router.master(run.slot)).key;
    const pipe = this.o.router.pipe(node);
    const missingOk = this.o.guard === true && ask === undefined && this.missingIsOurs(run, node, pipe.connId, expected);
    const key = this.markerKeys.of(run.slot, run.origin);
    const last = items[items.length - 1];
    const marker = formatMarkerValue(run.partition, last.offset, last.index);
    const guard = this.o.guard === true;
    let size = 96 + 3 * key.length + marker.length + (guard ? MARKER_GUARD.length + 160 : 0);
    let commands = 0;
    for (const item of items) {
      for (const argv of item.commands) {
        size += commandBytes(argv);
        commands++;
      }
    }
    const out = new RespBuffer(size);
    // ASKING lets the importing node accept the next command for the slot;
    // inside MULTI the flag lasts until EXEC (redis/src/networking.c resetClient),
    // outside it only for one command, so WATCH and EVAL each get their own.
    // Its own failure shows up as an ASK/MOVED on the transaction below.
    let prefix = 0;
    if (guard) {
      if (ask !== undefined) out.raw(ASKING);
      out.raw(WATCH_HEAD);
      out.bulk(key);
      if (ask !== undefined) out.raw(ASKING);
      out.raw(GUARD_HEAD);
      out.bulk(key);
      out.bulk(expected?.raw ?? '');
      out.bulk(missingOk ? '1' : '');
      prefix += ask !== undefined ? 4 : 2;
    }
    if (ask !== undefined) out.raw(ASKING);
    if (ask !== undefined) prefix++;
    out.raw(MULTI);
    out.raw(SET_HEAD);
    out.bulk(key);
    out.bulk(marker);
    for (const item of items) for (const argv of item.commands) out.command(argv);
    out.raw(EXEC);
    const sent = await pipe.sendTracked(out.finish(), commands + 3 + prefix);
    if (!guard) return { replies: execResult(prefix === 0 ? sent.replies : sent.replies.slice(prefix)), node, conn: sent.conn, seq: sent.seq, markerGone: false, marker };
    const replies = guardedExecResult(sent.replies, ask !== undefined, this.o.log);
    return { replies, node, conn: sent.conn, seq: sent.seq, markerGone: replies !== null && sent.replies[ask !== undefined ? 3 : 1] === MARKER_GONE, marker };
  }

  /**
   * WAITs, on every master the batch wrote to, for the replicas that
   * `durability` asks; resolves once the batch's writes are on them, so its
   * offsets may be committed. A WAIT that times out is counted, logged and
   * retried: the batch holds its commit (and its partition) meanwhile, as
   * long as the master has the replicas to wait for ('auto' stops waiting
   * when the master's replica is flagged failed: then it commits, counted as
   * no-replica). When the connection that carried the writes is gone, their
   * fate is unknown: the markers are read back, and one behind what was
   * applied rewinds the partition (TargetBehindError).
   */
  async makeDurable(ledger: ApplyLedger): Promise<void> {
    const d = this.o.durability;
    if (d === undefined || d.replicas === 0 || ledger.masters.size === 0) return;
    await Promise.all([...ledger.masters].map(([node, m]) => this.durableOn(node, m, d)));
  }

  private wanted(node: string, d: Durability): number {
    if (d.replicas !== 'auto') return d.replicas;
    return Math.min(1, this.o.router.replicaCount?.(node) ?? 0);
  }

  private async durableOn(node: string, m: NonNullable<ReturnType<ApplyLedger['masters']['get']>>, d: Durability): Promise<void> {
    const retrier = new Retrier(POLICIES.targetApply(this.o.backoffMs, this.o.maxBackoffMs));
    for (let attempt = 0; ; attempt++) {
      const want = this.wanted(node, d);
      if (want === 0) {
        this.o.onReplicaWait?.('no-replica');
        if (!this.unreplicated.has(node)) {
          this.unreplicated.add(node);
          this.o.log.warn({ node, attempt }, 'target master has no live replica (sink.waitReplicas auto): its writes are committed without a replica acknowledgement; a failover may lose them, and the sink re-applies them only if it notices the marker behind');
        }
        return;
      }
      if (this.unreplicated.delete(node)) this.o.log.info({ node, replicas: want }, 'target master has a live replica again: waiting for it before commits');
      try {
        if (m.conns.size !== 1) throw new TandemError('REDIS_UNAVAILABLE', `the batch's writes to ${node} went over ${m.conns.size} connections`);
        const acked = await this.o.router.pipe(node).wait([...m.conns][0], want, d.timeoutMs, m.seq);
        if (acked >= want) {
          this.o.onReplicaWait?.('acked');
          return;
        }
        this.o.onReplicaWait?.('timeout');
        if (attempt === 0 || attempt % 10 === 0) {
          this.o.log.warn({ node, acked, wanted: want, timeoutMs: d.timeoutMs, attempt }, 'target replicas did not acknowledge the batch\'s writes in time; the batch is not committed and waits (a replica down or lagging)');
        }
      } catch (err) {
        if (!(err instanceof TandemError) || err.code !== 'REDIS_UNAVAILABLE') throw err;
        this.o.onReplicaWait?.('connection-lost');
        this.o.log.warn({ node, err: err.message }, 'lost the connection that carried the batch\'s writes before replicas acknowledged them; reading the markers back');
        await this.verify([...m.runs.values()]);
        return;
      }
      if (this.o.stopping?.()) throw TandemError.exhausted(`stopping while ${node}'s replicas have not acknowledged the batch; it is not committed`);
      // 'auto' follows the topology: a replica flagged failed leaves CLUSTER SLOTS.
      await this.o.router.refresh().catch((err: unknown) => this.o.log.warn({ err: errorMessage(err) }, 'cannot refresh the target slot map'));
      await retrier.wait();
    }
  }

  /** Reads the markers of `runs` back from the target (retrying transient errors) and rewinds when one is behind. */
  async verify(runs: { slot: number; origin: string; partition: number; topic: string }[]): Promise<void> {
    const behind: TargetBehindError[] = [];
    for (const run of runs) {
      this.o.markers.invalidate(run.slot, run.origin);
      const retrier = new Retrier(POLICIES.targetApply(this.o.backoffMs, this.o.maxBackoffMs), { attempts: this.o.retries });
      for (;;) {
        try {
          await this.checkNotBehind(run, await this.o.markers.get(run.slot, run.origin));
          break;
        } catch (err) {
          if (err instanceof TargetBehindError) {
            behind.push(err);
            break;
          }
          const c = classifyApplyError(err);
          if (c.kind !== 'transient') throw TandemError.wrap('REDIS_UNAVAILABLE', `slot ${run.slot}: cannot read the marker back`, err);
          if (!retrier.spend() || this.o.stopping?.()) throw TandemError.exhausted(`slot ${run.slot}: cannot read the marker back`, err);
          this.o.onRetry?.(c.reason);
          if (c.refresh) await this.o.router.refresh().catch(() => undefined); // the next read fails again and is counted
          await retrier.wait();
        }
      }
    }
    if (behind.length > 0) throw TargetBehindError.earliest(behind);
  }
}

/**
 * The outcome of a guarded block from the replies of `WATCH`, `EVAL` (1: the
 * marker was as expected, 0: it was not and the watch is dirty), `MULTI`,
 * the queued commands and `EXEC`; `ask` says each is preceded by ASKING's
 * +OK. Null when EXEC answered nil (nothing ran). A guard that failed while
 * the transaction ran anyway (never seen: the sink's user lacks +eval, or a
 * script error) stops the sink: the apply was not checked against the marker.
 */
export function guardedExecResult(replies: Reply[], ask: boolean, log?: Pick<Logger, 'warn'>): Reply[] | null {
  const watch = replies[ask ? 1 : 0];
  const check = replies[ask ? 3 : 1];
  const exec = replies[replies.length - 1];
  if (exec === null) return null;
  if (!(watch instanceof Error) && !(check instanceof Error) && Array.isArray(exec) && !(replies[ask ? 5 : 2] instanceof Error)) return exec; // the common case, without copies
  const rest = replies.slice(ask ? 5 : 2);
  const guardErrors = [watch, check].filter((r): r is Error => r instanceof Error);
  if (exec instanceof Error) (exec as Error & { previousErrors?: Error[] }).previousErrors = guardErrors.concat(rest.slice(1, -1).filter((r): r is Error => r instanceof Error));
  const result = execResult(rest);
  if (guardErrors.length > 0) {
    const message = guardErrors.map((e) => e.message).join('; ');
    if (transientReason(message) === undefined) {
      throw new TandemError('TARGET_REJECTED', `the marker check failed (${message}) but the transaction ran: give the sink's Redis user +watch and +eval (docs/security.md)`);
    }
    log?.warn({ err: message }, 'the marker check was refused (transient) but the transaction ran; this block was not checked against a concurrent applier');
  }
  return result;
}

/**
 * EXEC's outcome from the replies of `MULTI`, the queued commands and `EXEC`,
 * as [error, result] per queued command. An EXECABORT is thrown as the reply
 * error it is, carrying the queue-time errors as `previousErrors`, which is
 * what classifyApplyError reads (a MOVED at queue time is a redirect, a
 * syntax error is the event's own fault).
 */
export function execResult(replies: Reply[]): Reply[] {
  const multi = replies[0];
  if (multi instanceof Error) throw multi;
  const exec = replies[replies.length - 1];
  if (exec instanceof Error) {
    (exec as Error & { previousErrors?: Error[] }).previousErrors = replies.slice(1, -1).filter((r): r is Error => r instanceof Error);
    throw exec;
  }
  if (!Array.isArray(exec)) throw new TandemError('REDIS_UNAVAILABLE', 'EXEC returned nil');
  return exec;
}

/** Where a run applies, for messages; the text is built only when one is needed. */
class RunPlace {
  constructor(private readonly run: SlotRun) {}
  get text(): string {
    return `slot ${this.run.slot}, origin ${this.run.origin}, partition ${this.run.partition}`;
  }
  toString(): string {
    return this.text;
  }
}

/** Maps EXEC's replies (the marker's first, then one per command) back to the items. */
export function mapReplies(items: ApplyItem[], replies: readonly Reply[], where: { toString(): string }): ItemOutcome[] {
  const marker = replies[0];
  if (marker instanceof Error) {
    // The marker failed but the commands ran: exactly-once is broken for this run. Never seen; stop loudly.
    throw new TandemError('TARGET_REJECTED', `${String(where)}: the marker SET failed inside EXEC: ${marker.message}`);
  }
  const out: ItemOutcome[] = new Array<ItemOutcome>(items.length);
  let i = 1;
  for (let n = 0; n < items.length; n++) {
    const item = items[n];
    let errors: string[] | undefined;
    for (let c = 0; c < item.commands.length; c++, i++) {
      const err = replies[i];
      if (err instanceof Error) {
        (errors ??= []).push(`${item.commands.length > 1 ? `command ${c + 1} ` : ''}${item.commands[c][0].toString('latin1').toUpperCase()}: ${err.message}`);
      }
    }
    if (errors === undefined) out[n] = item.conditional && replies[i - 1] === 0 ? { item, status: 'skipped-not-due' } : { item, status: 'applied' };
    else if (item.tolerateBusyKey && errors.every((e) => e.includes('BUSYKEY'))) out[n] = { item, status: 'skipped-exists' };
    else out[n] = { item, status: 'rejected', error: errors.join('; ') };
  }
  return out;
}
