import type { CheckpointRecord } from '../../shared/checkpoint';
import type { EventKind } from '../../shared/change-event';

/**
 * What the publisher has buffered and not yet committed: encoded events in
 * append order, and checkpoints, each pinned to the number of events appended
 * before it. `take(n)` cuts a transaction's worth off the front and includes
 * only checkpoints whose events are all in it, so a committed checkpoint can
 * never run ahead of its events, however the buffer is split.
 *
 * Positions are absolute (events appended since the start), so take and
 * restore cost what they move, not what stays buffered: a burst can buffer
 * hundreds of thousands of events, each followed by its link's checkpoint.
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
  /** The checkpoint entries the batch consumed, in order (restore puts them back). */
  pinned: PinnedCheckpoint[];
}

/**
 * A checkpoint record, or a function that makes it: a link pins its position
 * after every event, and only the last one per key in a transaction is ever
 * written, so the record is built then.
 */
export type CheckpointValue = CheckpointRecord | null | (() => CheckpointRecord);

interface PinnedCheckpoint {
  /** Absolute count of events appended before this checkpoint. */
  at: number;
  key: string;
  record: CheckpointValue;
}

/** A FIFO with O(1) amortised push, shift-many and unshift of what was just shifted. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The item at `i` from the front. */
  peek(i = 0): T | undefined {
    return this.items[this.head + i];
  }

  /** Removes and returns the first n items. */
  shift(n: number): T[] {
    const out = this.items.slice(this.head, this.head + n);
    this.head += out.length;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return out;
  }

  /** Puts items back in front, in their order. */
  unshift(items: T[]): void {
    if (items.length <= this.head) {
      this.head -= items.length;
      for (let i = 0; i < items.length; i++) this.items[this.head + i] = items[i];
    } else {
      this.items = items.concat(this.items.slice(this.head));
      this.head = 0;
    }
  }
}

/**
 * What a buffered event costs in memory beyond its encoded body: the
 * PendingEvent, the Buffer object, its pinned checkpoint. Counted in `bytes`,
 * so that source.maxBufferedBytes bounds memory, not just payload, when a
 * burst of small events is buffered.
 */
export const EVENT_OVERHEAD_BYTES = 256;

export class PendingBatch {
  private readonly events = new Fifo<PendingEvent>();
  private readonly pinned = new Fifo<PinnedCheckpoint>();
  /** Events taken so far (absolute position of the first buffered event). */
  private taken = 0;
  bytes = 0;

  get length(): number {
    return this.events.length;
  }

  get empty(): boolean {
    return this.events.length === 0 && this.pinned.length === 0;
  }

  append(event: PendingEvent): void {
    this.events.push(event);
    this.bytes += event.body.length + EVENT_OVERHEAD_BYTES;
  }

  checkpoint(key: string, record: CheckpointValue): void {
    this.pinned.push({ at: this.taken + this.events.length, key, record });
  }

  /** Removes and returns the first events, at most `max` of them and about `maxBytes`, and the checkpoints they complete. */
  take(max: number, maxBytes = Infinity): Batch {
    let count = 0;
    let bytes = 0;
    for (let e = this.events.peek(0); e !== undefined && count < max && (count === 0 || bytes + e.body.length <= maxBytes); e = this.events.peek(count)) {
      bytes += e.body.length + EVENT_OVERHEAD_BYTES;
      count++;
    }
    const events = this.events.shift(count);
    this.bytes -= bytes;
    this.taken += events.length;
    let n = 0;
    for (let c = this.pinned.peek(n); c !== undefined && c.at <= this.taken; c = this.pinned.peek(n)) n++;
    const pinned = this.pinned.shift(n);
    const latest = new Map<string, CheckpointValue>();
    for (const c of pinned) {
      latest.delete(c.key); // keep the keys in the order of their last checkpoint
      latest.set(c.key, c.record);
    }
    const checkpoints = new Map<string, CheckpointRecord | null>();
    for (const [key, record] of latest) checkpoints.set(key, typeof record === 'function' ? record() : record);
    return { events, bytes, checkpoints, pinned };
  }

  /** Puts a batch that failed to commit back in front, keeping order. */
  restore(batch: Batch): void {
    this.events.unshift(batch.events);
    this.pinned.unshift(batch.pinned);
    this.taken -= batch.events.length;
    this.bytes += batch.bytes;
  }
}
