import type { CheckpointRecord } from '../../shared/checkpoint';
import type { EventKind } from '../../shared/change-event';

/**
 * What the publisher has buffered and not yet committed: encoded events in
 * append order, and checkpoints, each pinned to the number of events appended
 * before it. `take(n)` cuts a transaction's worth off the front and includes
 * only checkpoints whose events are all in it, so a committed checkpoint can
 * never run ahead of its events, however the buffer is split.
 */
export interface PendingEvent {
  partition: number;
  /** Avro body of the event (change-record.ts encodeEventBody) */
  body: Buffer;
  origin: string;
  source: string;
  kind: EventKind;
  capturedAt: number;
  /** A big key's payload chunk: always a record of its own. */
  alone: boolean;
}

export interface Batch {
  events: PendingEvent[];
  bytes: number;
  /** Latest record per key among the included checkpoints; null is a tombstone. */
  checkpoints: Map<string, CheckpointRecord | null>;
}

interface PinnedCheckpoint {
  /** Events appended before this checkpoint (its events are events[0..at)). */
  at: number;
  key: string;
  record: CheckpointRecord | null;
}

export class PendingBatch {
  private events: PendingEvent[] = [];
  private pinned: PinnedCheckpoint[] = [];
  bytes = 0;

  get length(): number {
    return this.events.length;
  }

  get empty(): boolean {
    return this.events.length === 0 && this.pinned.length === 0;
  }

  /** When the oldest buffered event was captured (undefined: none). */
  get oldestCapturedAt(): number | undefined {
    return this.events[0]?.capturedAt;
  }

  append(event: PendingEvent): void {
    this.events.push(event);
    this.bytes += event.body.length;
  }

  checkpoint(key: string, record: CheckpointRecord | null): void {
    this.pinned.push({ at: this.events.length, key, record });
  }

  /** Removes and returns the first `max` events and the checkpoints they complete. */
  take(max: number): Batch {
    const n = Math.min(max, this.events.length);
    const events = this.events.splice(0, n);
    let bytes = 0;
    for (const e of events) bytes += e.body.length;
    this.bytes -= bytes;
    const checkpoints = new Map<string, CheckpointRecord | null>();
    const rest: PinnedCheckpoint[] = [];
    for (const c of this.pinned) {
      if (c.at <= n) checkpoints.set(c.key, c.record);
      else rest.push({ ...c, at: c.at - n });
    }
    this.pinned = rest;
    return { events, bytes, checkpoints };
  }

  /** Puts a batch that failed to commit back in front, keeping order. */
  restore(batch: Batch): void {
    const n = batch.events.length;
    this.events.unshift(...batch.events);
    this.bytes += batch.bytes;
    this.pinned = [
      ...[...batch.checkpoints].map(([key, record]) => ({ at: n, key, record })),
      ...this.pinned.map((c) => ({ ...c, at: c.at + n })),
    ];
  }
}
