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
}

/** What happened to one item after its MULTI/EXEC. */
export type ItemOutcome =
  | { item: ApplyItem; status: 'applied' }
  /** at or below the slot's marker: applied before a crash or by an earlier owner */
  | { item: ApplyItem; status: 'skipped-applied' }
  /** if-absent snapshot of a key that exists */
  | { item: ApplyItem; status: 'skipped-exists' }
  /** the target rejected (part of) it; `error` lists each failed command */
  | { item: ApplyItem; status: 'rejected'; error: string };

export function argBytes(commands: Buffer[][]): number {
  let n = 0;
  for (const argv of commands) for (const a of argv) n += a.length;
  return n;
}
