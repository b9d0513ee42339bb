import type { KafkaMessage } from 'kafkajs';
import { bytesOf, decodeConflictRecord, type ConflictRecord } from '../../shared/conflict-record';
import { errorMessage } from '../../shared/errors';
import type { PositionSpec } from '../kafka-range';
import { globMatch } from '../replay/glob';

/**
 * Which records of `tandem.<dc>.conflicts` `tandem conflicts` lists: those
 * detected in [fromMs, toMs) (the record's `detectedAt`, the time the sink
 * counted it in tandem_sink_conflicts_total, which the alert watches) whose
 * key matches the glob.
 *
 * Where to read. The sink's producer stamps each record with the time it
 * sends it (kafkajs: Date.now() at send), after `detectedAt` in the same
 * process. So the first offset whose timestamp is at or after `fromMs`
 * (ListOffsets by timestamp) leaves out no record detected at or after
 * `fromMs`. The other end is looser: a record waits in the sink's queue for
 * its batch (50 ms), or longer while Kafka refuses writes (retried every
 * second), so one detected just before `toMs` can carry a later timestamp.
 * The read runs to `toMs + UNTIL_SLACK_MS` and filters on `detectedAt`; a
 * record sent more than that after its detection is missed by a bounded
 * `--until` (never without one, which reads to the end).
 */
export const UNTIL_SLACK_MS = 60_000;

/** The positions to read between: from the first record sent at or after `fromMs`, to `toMs` plus the slack, or the end. */
export function readWindow(fromMs: number, toMs: number | undefined): { from: PositionSpec; to: PositionSpec | undefined } {
  return {
    from: { kind: 'time', ms: fromMs, text: '' },
    to: toMs === undefined ? undefined : { kind: 'time', ms: toMs + UNTIL_SLACK_MS, text: '' },
  };
}

export interface ConflictFilter {
  fromMs: number;
  toMs?: number;
  /** a Redis glob on the key's bytes */
  keyPattern?: Buffer;
}

/** A record listed, with where it is in the conflicts topic. */
export interface ListedConflict {
  partition: number;
  offset: bigint;
  record: ConflictRecord;
}

export interface SelectStats {
  records: number;
  undecodable: number;
  lastDecodeError?: string;
}

export class ConflictSelector {
  readonly stats: SelectStats = { records: 0, undecodable: 0 };

  constructor(private readonly filter: ConflictFilter) {}

  /** The record as listed, or undefined when it is outside the filter or not a conflict record (counted). */
  select(partition: number, m: KafkaMessage): ListedConflict | undefined {
    this.stats.records++;
    let record: ConflictRecord;
    try {
      record = decodeConflictRecord(m.value);
    } catch (err) {
      // Counted and reported on stderr: something other than a sink wrote to the topic, or a newer format.
      this.stats.undecodable++;
      this.stats.lastDecodeError = `partition ${partition} offset ${m.offset}: ${errorMessage(err)}`;
      return undefined;
    }
    return this.matches(record) ? { partition, offset: BigInt(m.offset), record } : undefined;
  }

  matches(r: ConflictRecord): boolean {
    const { fromMs, toMs, keyPattern } = this.filter;
    if (r.detectedAt < fromMs || (toMs !== undefined && r.detectedAt >= toMs)) return false;
    return keyPattern === undefined || globMatch(keyPattern, bytesOf(r.key, r.keyEncoding));
  }
}

/** In detection order; records of one partition detected in the same ms keep their order in the topic. */
export function byDetection(a: ListedConflict, b: ListedConflict): number {
  return a.record.detectedAt - b.record.detectedAt || a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0);
}
