import type { KafkaMessage } from 'kafkajs';
import { EVENT_FLAGS, type ChangeEvent } from '../../shared/change-event';
import { decodeChangeRecord } from '../../shared/change-record';
import { errorMessage } from '../../shared/errors';
import { decodePayload, redisTypeOf } from '../../rdb';
import { RestoreAssembler } from '../../sink/apply/restore-assembler';
import type { KeyExtractor } from './command-keys';
import { argJson, readableValue, type ArgJson } from './render';

/**
 * Picks, from the records of the key's partition, the events that touched
 * the key, in address order (record offset, index in the record):
 *
 * - events captured outside [fromMs, toMs), when given, are left out (a
 *   record spans the capture times of its events);
 * - only events of the key's slot are decoded further (a partition holds many slots);
 * - markers are skipped: they write the `__tandem:` marker key, never K;
 * - of a command or transaction, the commands whose keys include K are kept
 *   (the others of the transaction are counted in `otherCommands`);
 * - a snapshot RESTORE of K is shown with its payload decoded; a big key's
 *   `payload-chunk` events are gathered and shown as the one RESTORE they form,
 *   as the sink forms it (sink/apply/restore-assembler.ts): a sequence its RDB
 *   transfer left unfinished is never joined to the retry's; it is counted in
 *   `stats.abandonedSequences`, since no sink applied it.
 */
export interface AuditEntry {
  time: string;
  capturedAt: number;
  origin: string;
  source: string;
  kind: ChangeEvent['kind'];
  partition: number;
  offset: string;
  /** index of the event in its record (0 for a v1 record) */
  index: number;
  slot: number;
  db: number;
  flags: string[];
  commands: ArgJson[][];
  /** commands of the same transaction that touched other keys of the slot */
  otherCommands?: number;
  /** RESTORE payload decoded: its Redis type and value */
  decoded?: { type: string; value: unknown } | { error: string };
  /** a big key's RESTORE assembled from this many payload-chunk events */
  chunks?: number;
}

interface Address {
  partition: number;
  offset: string;
  index: number;
}

export interface AuditStats {
  records: number;
  undecodable: number;
  lastDecodeError?: string;
  /** chunk sequences of the key left unfinished by a broken full sync (never applied) */
  abandonedSequences: number;
  lastAbandoned?: string;
}

export class AuditCollector {
  readonly stats: AuditStats = { records: 0, undecodable: 0, abandonedSequences: 0 };
  private readonly assembler: RestoreAssembler;

  constructor(
    private readonly key: Buffer,
    private readonly slot: number,
    private readonly keysOf: KeyExtractor,
    private readonly maxBytes: number,
    private readonly window: { fromMs?: number; toMs?: number } = {},
  ) {
    // No memory bound of its own: audit has always shown a big key whole.
    this.assembler = new RestoreAssembler(Number.POSITIVE_INFINITY, (d) => {
      if (!d.key.equals(this.key)) return;
      this.stats.abandonedSequences++;
      this.stats.lastAbandoned = `${d.chunks} chunks at ${d.partition}/${d.firstOffset}..${d.lastOffset} of transfer ${d.transfer ?? '(none)'} (${d.reason})`;
    });
  }

  /** The entries of one record, in order. */
  add(partition: number, m: KafkaMessage): AuditEntry[] {
    this.stats.records++;
    if (m.value === null) return [];
    let events: ChangeEvent[];
    try {
      events = decodeChangeRecord(m.value);
    } catch (err) {
      // Counted and reported in the summary; the sink sent such records to its DLQ.
      this.stats.undecodable++;
      this.stats.lastDecodeError = `offset ${m.offset}: ${errorMessage(err)}`;
      return [];
    }
    const out: AuditEntry[] = [];
    const offset = BigInt(m.offset);
    events.forEach((e, index) => {
      this.assembler.observe(partition, { offset, index }, e);
      const entry = this.event(e, { partition, offset: m.offset, index });
      if (entry !== undefined) out.push(entry);
    });
    return out;
  }

  private event(e: ChangeEvent, at: Address): AuditEntry | undefined {
    if (e.slot !== this.slot || e.kind === 'marker') return undefined;
    const { fromMs, toMs } = this.window;
    if ((fromMs !== undefined && e.capturedAt < fromMs) || (toMs !== undefined && e.capturedAt >= toMs)) return undefined;
    if (e.kind === 'snapshot') return this.snapshot(e, at);
    const touching = e.commands.filter((argv) => this.keysOf(argv).some((k) => k.equals(this.key)));
    if (touching.length === 0) return undefined;
    const entry = this.entry(e, at, touching);
    if (touching.length < e.commands.length) entry.otherCommands = e.commands.length - touching.length;
    return entry;
  }

  private snapshot(e: ChangeEvent, at: Address): AuditEntry | undefined {
    const argv = e.commands[0];
    if (argv === undefined) return undefined;
    if (e.flags.includes(EVENT_FLAGS.payloadChunk)) {
      if (argv[0]?.equals(this.key) && argv[1] !== undefined) this.assembler.addChunk(at.partition, { offset: BigInt(at.offset), index: at.index }, e);
      return undefined;
    }
    const isRestore = argv[0].toString('latin1').toLowerCase() === 'restore';
    if (!(isRestore ? argv[1]?.equals(this.key) : e.commands.some((c) => this.keysOf(c).some((k) => k.equals(this.key))))) return undefined;
    if (!isRestore) return this.entry(e, at, e.commands); // not a RESTORE (no source writes one): shown as its commands
    let full = argv;
    let chunks: number | undefined;
    if (e.flags.includes(EVENT_FLAGS.payloadLast) && argv.length >= 4) {
      const c = this.assembler.complete(at.partition, { offset: BigInt(at.offset), index: at.index }, e);
      full = argv.slice();
      // Without its chunks (read from the middle, or lost) it is shown with an empty payload, as before.
      if (c.status === 'ok') full = c.argv;
      chunks = c.status === 'ok' ? c.chunks : 0;
    }
    const entry = this.entry(e, at, [full]);
    if (chunks !== undefined) entry.chunks = chunks;
    try {
      const d = decodePayload(full[3]);
      entry.decoded = { type: redisTypeOf(d.rdbType) ?? `rdb-type-${d.rdbType}`, value: readableValue(d.value, this.maxBytes) };
    } catch (err) {
      entry.decoded = { error: errorMessage(err) };
    }
    return entry;
  }

  private entry(e: ChangeEvent, at: Address, commands: Buffer[][]): AuditEntry {
    return {
      time: new Date(e.capturedAt).toISOString(),
      capturedAt: e.capturedAt,
      origin: e.origin,
      source: e.source,
      kind: e.kind,
      ...at,
      slot: e.slot,
      db: e.db,
      flags: e.flags,
      commands: commands.map((argv) => argv.map((a) => argJson(a, this.maxBytes))),
    };
  }
}
