import { TandemError, errorMessage } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import { formatMarkerValue, markerKey } from '../../shared/marker';
import { commandBytes, RespBuffer } from '../../shared/resp';
import type { ApplyItem, ItemOutcome } from './apply-item';
import type { ClusterRouter } from './cluster-router';
import { isApplied, type MarkerCache } from './marker-cache';
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
 */
export interface WriterOptions {
  /** What the writer needs of a router; `tandem replay` passes a single-node one. */
  router: Pick<ClusterRouter, 'master' | 'client' | 'pipe' | 'refresh'>;
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Writer {
  constructor(private readonly o: WriterOptions) {}

  /** Reads a marker, following ASK (the key may already sit on the importing node). */
  async readMarker(slot: number, origin: string): Promise<Buffer | null> {
    const key = markerKey(slot, origin);
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

  /** Applies the runs of one slot lane in order. */
  async applyLane(runs: SlotRun[]): Promise<ItemOutcome[]> {
    if (runs.length === 1) return this.applyRun(runs[0]);
    const out: ItemOutcome[] = [];
    for (const run of runs) for (const o of await this.applyRun(run)) out.push(o);
    return out;
  }

  async applyRun(run: SlotRun): Promise<ItemOutcome[]> {
    let full = false; // counted in onTargetFull while the run waits for memory
    try {
      return await this.tryRun(run, (waiting) => {
        if (waiting !== full) this.o.onTargetFull?.(waiting ? 1 : -1);
        full = waiting;
      });
    } finally {
      if (full) this.o.onTargetFull?.(-1);
    }
  }

  private async tryRun(run: SlotRun, setFull: (waiting: boolean) => void): Promise<ItemOutcome[]> {
    const where = new RunPlace(run);
    let ask: string | undefined;
    let backoff = this.o.backoffMs;
    // OOM retries are not counted against `retries`: a full target waits for memory, however long.
    for (let attempt = 0, counted = 0; ; attempt++) {
      const skipped: ItemOutcome[] = [];
      const pending: ApplyItem[] = [];
      try {
        const marker = await this.o.markers.get(run.slot, run.origin);
        for (const item of run.items) {
          if (isApplied(marker, run.partition, item.offset, item.index, where)) skipped.push({ item, status: 'skipped-applied' });
          else pending.push(item);
        }
        if (pending.length === 0) return skipped;
        const replies = await this.exec(run, pending, ask);
        setFull(false);
        const last = pending[pending.length - 1];
        this.o.markers.set(run.slot, run.origin, { partition: run.partition, offset: last.offset, index: last.index });
        const applied = mapReplies(pending, replies, where);
        return skipped.length === 0 ? applied : skipped.concat(applied);
      } catch (err) {
        const c = classifyApplyError(err);
        if (c.kind === 'fatal') throw err;
        if (c.kind === 'queue-error') {
          setFull(false);
          // EXECABORT: nothing ran, the cached marker is still right.
          if (pending.length <= 1) return skipped.concat(pending.map((item) => ({ item, status: 'rejected' as const, error: c.message })));
          this.o.log.warn({ slot: run.slot, events: pending.length, err: c.message }, 'transaction refused at queue time; applying its events one by one to isolate the bad one');
          const out = skipped;
          for (const item of pending) out.push(...(await this.applyRun({ ...run, items: [item] })));
          return out;
        }
        if (!c.full) counted++;
        if (counted > this.o.retries || this.o.stopping?.()) {
          throw new TandemError('REDIS_UNAVAILABLE', `${where.text}: apply failed after ${attempt + 1} attempts: ${c.message}`, { cause: err });
        }
        setFull(c.full === true);
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
        if (c.reason !== 'MOVED' && c.reason !== 'ASK') {
          await sleep(backoff);
          backoff = Math.min(backoff * 2, this.o.maxBackoffMs);
        }
      }
    }
  }

  private async exec(run: SlotRun, items: ApplyItem[], ask: string | undefined): Promise<Reply[]> {
    const pipe = this.o.router.pipe(ask ?? (await this.o.router.master(run.slot)).key);
    const last = items[items.length - 1];
    const marker = ['SET', markerKey(run.slot, run.origin), formatMarkerValue(run.partition, last.offset, last.index)];
    let size = 64 + commandBytes(marker);
    let commands = 0;
    for (const item of items) {
      for (const argv of item.commands) {
        size += commandBytes(argv);
        commands++;
      }
    }
    const out = new RespBuffer(size);
    // ASKING lets the importing node accept the next commands for the slot;
    // inside MULTI the flag lasts until EXEC (redis/src/networking.c resetClient).
    // Its own failure shows up as an ASK/MOVED on the transaction below.
    if (ask !== undefined) out.command(['ASKING']);
    out.command(['MULTI']);
    out.command(marker);
    for (const item of items) for (const argv of item.commands) out.command(argv);
    out.command(['EXEC']);
    const replies = await pipe.send(out.finish(), commands + 3 + (ask !== undefined ? 1 : 0));
    return execResult(ask !== undefined ? replies.slice(1) : replies);
  }
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
  if (!Array.isArray(exec)) throw new TandemError('REDIS_UNAVAILABLE', 'EXEC returned nil', { retriable: true });
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
