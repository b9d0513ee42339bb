import type { Kafka, KafkaMessage } from 'kafkajs';
import { TandemError } from './errors';

/**
 * Reads chosen partitions of a topic over offset ranges, and only those
 * partitions: the reader behind `tandem audit` (one partition) and
 * `tandem replay`.
 *
 * kafkajs 2.2.4 has no `assign()`: a consumer always joins a group and is
 * assigned every partition of the topic. What it does have is pause/resume
 * with "pause all, resume some" (subscriptionState.pauseAll + resumed), and
 * paused partitions are left out of Fetch requests entirely
 * (consumerGroup.fetch: `activeTopicPartitions`). The consumer group object
 * exists as soon as `consumer.run()` is called (it is created before run's
 * first await), so we pause the whole topic, resume the wanted partitions and
 * seek them before the group is even joined: no Fetch ever names another
 * partition. The group is unique per read and never commits.
 *
 * `partitionsRead` reports every partition a batch arrived from (kafkajs'
 * START_BATCH_PROCESS instrumentation event, which also fires for batches of
 * control records only): the evidence that only the wanted ones were fetched.
 *
 * A range ends at `to` (exclusive). With read_committed the last offsets may be
 * transaction markers, which are never delivered as messages; the batch's last
 * offset (control records included) still tells that the range is done.
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

export async function readPartitions(kafka: Kafka, o: ReadPartitionsOptions): Promise<ReadPartitionsResult> {
  const result: ReadPartitionsResult = { partitionsRead: [], messages: 0, bytes: 0 };
  const read = new Set<number>();
  const ranges = new Map(o.ranges.map((r) => [r.partition, r]));
  const pending = new Set(o.ranges.filter((r) => r.to === undefined || r.from < r.to).map((r) => r.partition));
  if (pending.size === 0) return result;
  const wanted = [...pending];

  const consumer = kafka.consumer({
    groupId: `${o.groupPrefix ?? 'tandem-tool'}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
    readUncommitted: false,
    maxWaitTimeInMs: 250,
    // A crash must end the read with an error, not restart a group that would have lost the pause state.
    retry: { retries: 3, initialRetryTime: 200, restartOnFailure: async () => false },
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
        o.signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve();
        else reject(err instanceof TandemError ? err : TandemError.wrap('KAFKA_UNAVAILABLE', `reading ${o.topic}`, err));
      };
      const onAbort = () => finish();
      o.signal?.addEventListener('abort', onAbort);
      const stallMs = o.stallMs ?? 60_000;
      const watchdog = setInterval(() => {
        if (Date.now() - lastProgress > stallMs) {
          finish(new TandemError('KAFKA_UNAVAILABLE', `no progress reading ${o.topic} partitions ${[...pending].join(',')} for ${stallMs} ms`));
        }
      }, 500);
      const advance = (partition: number, next: bigint) => {
        lastProgress = Date.now();
        o.onPosition?.(partition, next);
        const to = ranges.get(partition)?.to;
        if (to !== undefined && next >= to && pending.delete(partition)) {
          consumer.pause([{ topic: o.topic, partitions: [partition] }]);
          if (pending.size === 0) finish();
        }
      };
      consumer.on(consumer.events.START_BATCH_PROCESS, (e) => {
        read.add(e.payload.partition);
        lastProgress = Date.now();
        // Batches of transaction markers only never reach eachBatch: their last offset still moves the position.
        if (e.payload.batchSize === 0) advance(e.payload.partition, BigInt(e.payload.lastOffset) + 1n);
      });
      consumer.on(consumer.events.CRASH, (e) => finish(e.payload.error));
      const running = consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: o.concurrency ?? 1,
        eachBatch: async ({ batch, heartbeat }) => {
          const range = ranges.get(batch.partition);
          if (range === undefined || !pending.has(batch.partition) || settled) return;
          const inRange = batch.messages.filter((m) => {
            const off = BigInt(m.offset);
            return off >= range.from && (range.to === undefined || off < range.to);
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
    throw err instanceof TandemError ? err : TandemError.wrap('KAFKA_UNAVAILABLE', `reading ${o.topic}`, err);
  } finally {
    await consumer.disconnect();
  }
  result.partitionsRead = [...read].sort((a, b) => a - b);
  return result;
}
