import type { TargetItem } from '../../sink/apply/target';
import type { KafkaMessage } from 'kafkajs';
import { EVENT_FLAGS, type ChangeEvent } from '../../shared/change-event';
import { decodeChangeRecord, readRecordHeaders } from '../../shared/change-record';
import { errorMessage } from '../../shared/errors';
import { RestoreAssembler } from '../../sink/apply/restore-assembler';
import type { KeyExtractor } from '../audit/command-keys';
import type { SlotRange } from '../kafka-range';
import { globMatch } from './glob';

/**
 * Decides, event by event, what `tandem replay` applies. A record whose
 * headers rule out all of its events (markers only, or none of the wanted
 * origin) is not decoded. For each event, in order:
 *
 * 1. `marker` events never (they are the anti-loop bookkeeping of a sink);
 * 2. origin: only events whose origin is `origin` (default the topic's DC:
 *    the writes made in that DC); `any` keeps every origin;
 * 3. capture time inside [fromMs, toMs) (the event's capturedAt);
 * 4. keyless `control` events (FUNCTION LOAD, FLUSHALL…) never: replay
 *    rebuilds keys, and a FLUSHALL replayed would wipe the target; nor
 *    `expiry`/`eviction` events: deletions the server made itself (the
 *    replayed writes carry their TTLs);
 * 5. writes of reserved `__tandem:` keys never, as in the sink;
 * 6. --slot-range on the event's slot;
 * 7. --no-snapshots drops snapshot events;
 * 8. --key PATTERN: an event is kept when one of its keys matches (a
 *    transaction is kept whole, to stay atomic);
 * 9. a big key's payload chunks are gathered and the RESTORE they end with is
 *    emitted whole; chunks whose RESTORE is outside the range are dropped.
 *    A sequence its RDB transfer left unfinished (a full sync broken inside
 *    the key) is never concatenated with the retry's: it is skipped as
 *    `abandoned-chunks` (one per chunk), exactly as the sink discards it.
 */
export interface SelectOptions {
  /** a DC name, or undefined for any origin */
  origin?: string;
  fromMs?: number;
  toMs?: number;
  slotRange?: SlotRange;
  keyPattern?: Buffer;
  snapshots: boolean;
  keysOf: KeyExtractor;
  maxRestoreBytes: number;
}

/** A selected event, as the outputs take it (sink/apply/target.ts). */
export type ReplayItem = TargetItem;

export type SkipReason =
  | 'marker'
  | 'origin'
  | 'time'
  | 'control'
  | 'server-deletion'
  | 'reserved-key'
  | 'slot'
  | 'snapshot'
  | 'key'
  | 'undecodable'
  | 'incomplete-snapshot'
  | 'abandoned-chunks'
  | 'snapshot-too-large';

export class ReplaySelector {
  readonly skipped = new Map<SkipReason, number>();
  lastError: string | undefined;
  private readonly assembler: RestoreAssembler;

  constructor(private readonly o: SelectOptions) {
    this.assembler = new RestoreAssembler(o.maxRestoreBytes, (d) => {
      this.skipped.set('abandoned-chunks', (this.skipped.get('abandoned-chunks') ?? 0) + d.chunks);
    });
  }

  private skip(reason: SkipReason): undefined {
    this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + 1);
    return undefined;
  }

  /** The items to apply from one record, in order. */
  select(partition: number, m: KafkaMessage): ReplayItem[] {
    const { o } = this;
    let events: ChangeEvent[];
    try {
      const h = readRecordHeaders(m.headers);
      if (h.kinds !== undefined && h.kinds.every((k) => k === 'marker')) return this.skipAll('marker', h.count);
      if (o.origin !== undefined && h.origins !== undefined && !h.origins.includes(o.origin)) return this.skipAll('origin', h.count);
      if (m.value === null) throw new Error('record has no value');
      events = decodeChangeRecord(m.value);
    } catch (err) {
      this.lastError = `partition ${partition} offset ${m.offset}: ${errorMessage(err)}`;
      this.skip('undecodable');
      return [];
    }
    const offset = BigInt(m.offset);
    const out: ReplayItem[] = [];
    events.forEach((event, index) => {
      // Before any filter: an event of the same source node ends a big key it left unfinished.
      this.assembler.observe(partition, { offset, index }, event);
      const item = this.selectEvent(partition, offset, index, event);
      if (item !== undefined) out.push(item);
    });
    return out;
  }

  private skipAll(reason: SkipReason, count = 1): ReplayItem[] {
    this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + count);
    return [];
  }

  private selectEvent(partition: number, offset: bigint, index: number, event: ChangeEvent): ReplayItem | undefined {
    const { o } = this;
    if (event.kind === 'marker') return this.skip('marker');
    if (o.origin !== undefined && event.origin !== o.origin) return this.skip('origin');
    const ts = event.capturedAt;
    if ((o.fromMs !== undefined && ts < o.fromMs) || (o.toMs !== undefined && ts >= o.toMs)) return this.skip('time');
    if (event.kind === 'control' || event.slot < 0) return this.skip('control');
    // An expiry or eviction was the server's own; replayed keys carry their TTLs.
    if (event.kind === 'expiry' || event.kind === 'eviction') return this.skip('server-deletion');
    if (event.flags.includes(EVENT_FLAGS.reservedKey)) return this.skip('reserved-key');
    if (o.slotRange && (event.slot < o.slotRange.first || event.slot > o.slotRange.last)) return this.skip('slot');
    if (event.kind === 'snapshot') {
      if (!o.snapshots) return this.skip('snapshot');
      return this.snapshot(partition, offset, index, event);
    }
    if (o.keyPattern && !event.commands.some((argv) => this.keysOf(argv).some((k) => globMatch(o.keyPattern!, k)))) return this.skip('key');
    return { partition, offset, index, event, commands: event.commands };
  }

  private keysOf(argv: readonly Buffer[]): Buffer[] {
    return this.o.keysOf(argv);
  }

  private snapshot(partition: number, offset: bigint, index: number, event: ChangeEvent): ReplayItem | undefined {
    const argv = event.commands[0];
    if (argv === undefined) return this.skip('undecodable');
    if (event.flags.includes(EVENT_FLAGS.payloadChunk)) {
      const [key, bytes] = argv;
      if (key === undefined || bytes === undefined) return this.skip('undecodable');
      if (this.o.keyPattern && !globMatch(this.o.keyPattern, key)) return this.skip('key');
      this.assembler.addChunk(partition, { offset, index }, event);
      return undefined; // part of the RESTORE that follows; counted with it
    }
    const isRestore = argv[0].toString('latin1').toLowerCase() === 'restore';
    const keys = isRestore ? [argv[1]] : event.commands.flatMap((c) => this.keysOf(c));
    if (this.o.keyPattern && !keys.some((k) => k !== undefined && globMatch(this.o.keyPattern!, k))) return this.skip('key');
    if (!event.flags.includes(EVENT_FLAGS.payloadLast)) return { partition, offset, index, event, commands: event.commands };
    if (argv.length < 4) return this.skip('undecodable');
    const c = this.assembler.complete(partition, { offset, index }, event);
    if (c.status === 'missing-chunks') return this.skip('incomplete-snapshot');
    if (c.status === 'overflow') return this.skip('snapshot-too-large');
    return { partition, offset, index, event, commands: [c.argv] };
  }
}
