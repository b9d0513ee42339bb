import type { Message } from 'kafkajs';
import type { CheckpointRecord } from '../../shared/checkpoint';

/**
 * What the publisher has buffered and not yet committed: messages in append
 * order, and checkpoints, each pinned to the number of messages appended
 * before it. `take(n)` cuts a transaction's worth off the front and includes
 * only checkpoints whose messages are all in it, so a committed checkpoint can
 * never run ahead of its events, however the buffer is split.
 */
export interface Batch {
  messages: Message[];
  /** Encoded size and kind of each message, for the buffer bound and the metrics. */
  sizes: number[];
  kinds: string[];
  bytes: number;
  /** Latest record per key among the included checkpoints; null is a tombstone. */
  checkpoints: Map<string, CheckpointRecord | null>;
}

interface PinnedCheckpoint {
  /** Messages appended before this checkpoint (its events are messages[0..at)). */
  at: number;
  key: string;
  record: CheckpointRecord | null;
}

export class PendingBatch {
  private messages: Message[] = [];
  private sizes: number[] = [];
  private kinds: string[] = [];
  private pinned: PinnedCheckpoint[] = [];
  bytes = 0;

  get length(): number {
    return this.messages.length;
  }

  get empty(): boolean {
    return this.messages.length === 0 && this.pinned.length === 0;
  }

  append(message: Message, kind: string, size: number): void {
    this.messages.push(message);
    this.sizes.push(size);
    this.kinds.push(kind);
    this.bytes += size;
  }

  checkpoint(key: string, record: CheckpointRecord | null): void {
    this.pinned.push({ at: this.messages.length, key, record });
  }

  /** Removes and returns the first `max` messages and the checkpoints they complete. */
  take(max: number): Batch {
    const n = Math.min(max, this.messages.length);
    const messages = this.messages.splice(0, n);
    const sizes = this.sizes.splice(0, n);
    const kinds = this.kinds.splice(0, n);
    const bytes = sizes.reduce((a, b) => a + b, 0);
    this.bytes -= bytes;
    const checkpoints = new Map<string, CheckpointRecord | null>();
    const rest: PinnedCheckpoint[] = [];
    for (const c of this.pinned) {
      if (c.at <= n) checkpoints.set(c.key, c.record);
      else rest.push({ ...c, at: c.at - n });
    }
    this.pinned = rest;
    return { messages, sizes, kinds, bytes, checkpoints };
  }

  /** Puts a batch that failed to commit back in front, keeping order. */
  restore(batch: Batch): void {
    const n = batch.messages.length;
    this.messages.unshift(...batch.messages);
    this.sizes.unshift(...batch.sizes);
    this.kinds.unshift(...batch.kinds);
    this.bytes += batch.bytes;
    this.pinned = [
      ...[...batch.checkpoints].map(([key, record]) => ({ at: n, key, record })),
      ...this.pinned.map((c) => ({ ...c, at: c.at + n })),
    ];
  }
}
