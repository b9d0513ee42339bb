/**
 * Group commit of consumer offsets: one OffsetCommit request for every
 * partition batch that finished while the previous request was in flight
 * (or in the same turn of the event loop), instead of one per partition
 * batch. Requests go one at a time, each with the latest offset of every
 * partition, so a partition's committed offset only moves forward. Each
 * caller's promise settles with the request that carried its offset.
 */
export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class OffsetCommitter {
  /** Offsets waiting for the next request, latest per topic-partition. */
  private pending = new Map<string, TopicPartitionOffset>();
  private waiters: Waiter[] = [];
  private running: Promise<void> | undefined;

  constructor(private readonly commitOffsets: (offsets: TopicPartitionOffset[]) => Promise<void>) {}

  /** Resolves once an OffsetCommit carrying this offset (or a later one of the partition) succeeded. */
  commit(offset: TopicPartitionOffset): Promise<void> {
    this.pending.set(`${offset.topic}/${offset.partition}`, offset);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.running ??= this.drain();
    return done;
  }

  /** Resolves once every offset handed in so far was sent (successfully or not). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    // Let the batches finishing in this turn join the first request.
    await new Promise<void>((r) => setImmediate(r));
    while (this.pending.size > 0) {
      const offsets = [...this.pending.values()];
      const waiters = this.waiters;
      this.pending = new Map();
      this.waiters = [];
      try {
        await this.commitOffsets(offsets);
        for (const w of waiters) w.resolve();
      } catch (err) {
        for (const w of waiters) w.reject(err);
      }
    }
    this.running = undefined;
  }
}
