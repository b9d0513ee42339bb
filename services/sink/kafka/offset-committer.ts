/**
 * Group commit of consumer offsets: one OffsetCommit request for every
 * partition batch that finished while the previous request was in flight
 * (or in the same turn of the event loop), instead of one per partition
 * batch. Requests go one at a time, each with the latest offset of every
 * partition, so a partition's committed offset only moves forward. Each
 * caller's promise settles with the request that carried its offset.
 *
 * Requests start at least `minIntervalMs` apart (sink.offsetCommitIntervalMs).
 * kafkajs sends a consumer's OffsetCommit and Fetch over one connection to
 * the broker, which answers a connection's requests one at a time: commits
 * back to back (one per fetch cycle) held every other fetch behind one, and
 * a commit under load takes longer than the fetch. The offsets that finish
 * meanwhile wait and go together in the next request. A crash re-reads at
 * most that much more; the slot markers skip what was applied.
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
  /** When the last request started (ms, `now()`); -Infinity before the first. */
  private lastStart = -Infinity;
  /** Ends the pause between requests early (idle(): the consumer stops). */
  private wake: (() => void) | undefined;
  private hurry = false;

  constructor(
    private readonly commitOffsets: (offsets: TopicPartitionOffset[]) => Promise<void>,
    private readonly minIntervalMs = 0,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolves once an OffsetCommit carrying this offset (or a later one of the partition) succeeded. */
  commit(offset: TopicPartitionOffset): Promise<void> {
    this.pending.set(`${offset.topic}/${offset.partition}`, offset);
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.running ??= this.drain();
    return done;
  }

  /** Resolves once every offset handed in so far was sent (successfully or not). */
  async idle(): Promise<void> {
    this.hurry = true;
    this.wake?.();
    try {
      while (this.running) await this.running;
    } finally {
      this.hurry = false;
    }
  }

  /** Waits out what is left of the interval since the last request started, unless idle() hurries it. */
  private async pause(): Promise<void> {
    const rest = this.lastStart + this.minIntervalMs - this.now();
    if (rest <= 0 || this.hurry) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, rest);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = undefined;
  }

  private async drain(): Promise<void> {
    // Let the batches finishing in this turn join the first request.
    await new Promise<void>((r) => setImmediate(r));
    while (this.pending.size > 0) {
      await this.pause();
      this.lastStart = this.now();
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
