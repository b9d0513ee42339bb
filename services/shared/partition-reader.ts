import type { Kafka, KafkaMessage } from 'kafkajs';
import { TandemError } from './errors';

/**
 * The one bounded reader of Kafka partitions: a read_committed consumer in a
 * group of its own that never commits, reading chosen partitions over offset
 * ranges. Two entry points share it: `readPartitions` (below), behind
 * `tandem audit` (one partition), `tandem replay`, `tandem status`,
 * `tandem conflicts` and the sink's own-topic tail; and `readTopicToEnd`
 * (topic-reader.ts), for the source's checkpoints at start, tools and tests.
 * They differ only in how a read fails (`ReadMode`).
 *
 * Only the wanted partitions are fetched. kafkajs 2.2.4 has no `assign()`: a
 * consumer always joins a group and is assigned every partition of the
 * topic. What it does have is pause/resume with "pause all, resume some"
 * (subscriptionState.pauseAll + resumed), and paused partitions are left out
 * of Fetch requests entirely (consumerGroup.fetch: `activeTopicPartitions`).
 * The consumer group object exists as soon as `consumer.run()` is called (it
 * is created before run's first await), so we pause the whole topic, resume
 * the wanted partitions and seek them before the group is even joined: no
 * Fetch ever names another partition.
 *
 * `partitionsRead` reports every partition a batch arrived from (kafkajs'
 * START_BATCH_PROCESS instrumentation event, which also fires for batches of
 * control records only): the evidence that only the wanted ones were fetched.
 *
 * When a range is done: it ends at `to` (exclusive). With read_committed the
 * log ends with commit or abort markers, which are never delivered as
 * messages, and aborted records are skipped; kafkajs still reports a batch
 * of those (filtered to nothing) in START_BATCH_PROCESS with `batchSize` 0
 * and the batch's last raw offset. So the range is done once the last offset
 * of a batch, delivered or filtered, reaches `to`. (A timer is no end
 * condition: under load the first fetch can take seconds, and a reader that
 * gave up early once made a restarted source miss its checkpoints.)
 */
export interface PartitionRange {
  partition: number;
  /** first offset to read */
  from: bigint;
  /** exclusive end; undefined = follow forever (until `signal` aborts) */
  to?: bigint;
}

export interface ReadPartitionsOptions {
  topic: string;
  ranges: PartitionRange[];
  groupPrefix?: string;
  /** Fails when no range made progress for this long while some were unfinished. */
  stallMs?: number;
  signal?: AbortSignal;
  /** Partitions consumed concurrently (order within a partition always holds). */
  concurrency?: number;
  /** Called in offset order per partition, only for offsets inside the range. */
  onMessages: (partition: number, messages: KafkaMessage[]) => Promise<void> | void;
  /** Called as the read position advances (for progress). */
  onPosition?: (partition: number, next: bigint) => void;
}

export interface ReadPartitionsResult {
  partitionsRead: number[];
  messages: number;
  bytes: number;
}

/** How a read behaves when something goes wrong, and when it stops: one per entry point. */
export interface ReadMode {
  /** The group id's prefix when the caller gives none. */
  groupPrefix: string;
  maxWaitTimeInMs: number;
  /**
   * 'fail': a consumer crash ends the read with its error, wrapped as a
   * TandemError (kafkajs retries 3 times and never restarts the consumer: a
   * restarted group would have lost the pause state and the seeks).
   * 'restart': kafkajs' own policy: after a retriable crash it restarts the
   * consumer, whose new group has no pause and no seek and reads every
   * partition from the beginning again (nothing is committed); only a read
   * that starts at the beginning may use it. Errors pass as thrown.
   */
  crash: 'fail' | 'restart';
  /**
   * A partition whose range is done, and the read once every range is, still
   * deliver what the consumer fetches (past `to` too) until it disconnects;
   * every partition of the ranges is resumed, empty ones included.
   */
  keepReadingDone: boolean;
}

const RANGE_READ: ReadMode = { groupPrefix: 'tandem-tool', maxWaitTimeInMs: 250, crash: 'fail', keepReadingDone: false };

export function readPartitions(kafka: Kafka, o: ReadPartitionsOptions): Promise<ReadPartitionsResult> {
  return readRanges(kafka, { ...o, stallMs: o.stallMs ?? 60_000 }, RANGE_READ);
}

/**
 * The reader both entry points run. `stallMs` (no progress for that long)
 * and `deadline` (not done by then) each end the read with KAFKA_UNAVAILABLE
 * when given; neither is a default here.
 */
export async function readRanges(kafka: Kafka, o: ReadPartitionsOptions & { deadline?: { ms: number; message: string } }, mode: ReadMode): Promise<ReadPartitionsResult> {
  const result: ReadPartitionsResult = { partitionsRead: [], messages: 0, bytes: 0 };
  const read = new Set<number>();
  const ranges = new Map(o.ranges.map((r) => [r.partition, r]));
  const pending = new Set(o.ranges.filter((r) => r.to === undefined || r.from < r.to).map((r) => r.partition));
  if (pending.size === 0) return result;
  const wanted = mode.keepReadingDone ? [...ranges.keys()] : [...pending];
  const failed = (err: unknown) => (mode.crash === 'restart' || err instanceof TandemError ? err : TandemError.wrap('KAFKA_UNAVAILABLE', `reading ${o.topic}`, err));

  const consumer = kafka.consumer({
    groupId: `${o.groupPrefix ?? mode.groupPrefix}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
    readUncommitted: false,
    maxWaitTimeInMs: mode.maxWaitTimeInMs,
    // A crash must end the read with an error, not restart a group that would have lost the pause state.
    ...(mode.crash === 'fail' ? { retry: { retries: 3, initialRetryTime: 200, restartOnFailure: async () => false } } : {}),
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: o.topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      let lastProgress = Date.now();
      const finish = (err?: unknown) => {
        if (settled) return;
        settled = true;
        clearInterval(watchdog);
        clearTimeout(deadline);
        o.signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve();
        else reject(failed(err));
      };
      const onAbort = () => finish();
      o.signal?.addEventListener('abort', onAbort);
      const { stallMs } = o;
      const watchdog =
        stallMs === undefined
          ? undefined
          : setInterval(() => {
              if (Date.now() - lastProgress > stallMs) {
                finish(new TandemError('KAFKA_UNAVAILABLE', `no progress reading ${o.topic} partitions ${[...pending].join(',')} for ${stallMs} ms`));
              }
            }, 500);
      const deadline = o.deadline && setTimeout((message: string) => finish(new TandemError('KAFKA_UNAVAILABLE', message)), o.deadline.ms, o.deadline.message);
      const advance = (partition: number, next: bigint) => {
        lastProgress = Date.now();
        o.onPosition?.(partition, next);
        const to = ranges.get(partition)?.to;
        if (to !== undefined && next >= to && pending.delete(partition)) {
          if (!mode.keepReadingDone) consumer.pause([{ topic: o.topic, partitions: [partition] }]);
          if (pending.size === 0) finish();
        }
      };
      consumer.on(consumer.events.START_BATCH_PROCESS, (e) => {
        read.add(e.payload.partition);
        lastProgress = Date.now();
        // Batches of transaction markers only never reach eachBatch: their last offset still moves the position.
        if (e.payload.batchSize === 0) advance(e.payload.partition, BigInt(e.payload.lastOffset) + 1n);
      });
      if (mode.crash === 'fail') consumer.on(consumer.events.CRASH, (e) => finish(e.payload.error));
      const running = consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: o.concurrency ?? 1,
        eachBatch: async ({ batch, heartbeat }) => {
          const range = ranges.get(batch.partition);
          if (range === undefined || (!mode.keepReadingDone && (!pending.has(batch.partition) || settled))) return;
          const inRange = batch.messages.filter((m) => {
            const off = BigInt(m.offset);
            return off >= range.from && (mode.keepReadingDone || range.to === undefined || off < range.to);
          });
          result.messages += inRange.length;
          for (const m of inRange) result.bytes += m.value?.length ?? 0;
          if (inRange.length > 0) await o.onMessages(batch.partition, inRange);
          await heartbeat();
          advance(batch.partition, BigInt(batch.lastOffset()) + 1n);
        },
      });
      // run() created the consumer group synchronously; pause before its first fetch.
      consumer.pause([{ topic: o.topic }]);
      consumer.resume([{ topic: o.topic, partitions: wanted }]);
      for (const p of wanted) consumer.seek({ topic: o.topic, partition: p, offset: String(ranges.get(p)?.from ?? 0n) });
      running.catch(finish);
    });
  } catch (err) {
    throw failed(err);
  } finally {
    await consumer.disconnect();
  }
  result.partitionsRead = [...read].sort((a, b) => a - b);
  return result;
}
