import type { IHeaders } from 'kafkajs';
import type { ChangeEvent } from '../../shared/change-event';

/**
 * The Kafka record an event came from, kept as is so that the DLQ receives
 * the original bytes.
 */
export interface SourceRecord {
  topic: string;
  partition: number;
  /** Kafka offset, decimal */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders;
}

/** One event the sink will apply in its slot, with the commands to send. */
export interface ApplyItem {
  record: SourceRecord;
  /** The event's address: its record's offset and its index in the record. */
  offset: bigint;
  index: number;
  event: ChangeEvent;
  /** What goes inside the MULTI: the event's commands, rewritten by snapshot policy or chunk assembly. */
  commands: Buffer[][];
  /** A reply that means "deliberately not applied" rather than an error: BUSYKEY under snapshotPolicy if-absent. */
  tolerateBusyKey?: boolean;
  /** The command deletes only if a condition holds (an expiry: only where the target's copy is due); a 0 reply means it did not. */
  conditional?: boolean;
}

/** What happened to one item after its MULTI/EXEC. */
export type ItemOutcome =
  | { item: ApplyItem; status: 'applied' }
  /** at or below the slot's marker: applied before a crash or by an earlier owner */
  | { item: ApplyItem; status: 'skipped-applied' }
  /** if-absent snapshot of a key that exists */
  | { item: ApplyItem; status: 'skipped-exists' }
  /** an expiry whose key was not due on the target (re-written, or with a later deadline): nothing deleted */
  | { item: ApplyItem; status: 'skipped-not-due' }
  /** the target rejected (part of) it; `error` lists each failed command */
  | { item: ApplyItem; status: 'rejected'; error: string };

export function argBytes(commands: Buffer[][]): number {
  let n = 0;
  for (const argv of commands) for (const a of argv) n += a.length;
  return n;
}
