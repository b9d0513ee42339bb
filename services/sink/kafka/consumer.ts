import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import { TandemError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import { membershipError, withHeartbeats } from './group-membership';
import { OffsetCommitter } from './offset-committer';

/**
 * The sink's consumer group (`tandem-sink-<dc>`) over the peers' changes
 * topics. Offsets are committed by hand, only after the batch's apply was
 * acknowledged by Redis (and its DLQ records by Kafka): autoCommit is off, so
 * kafkajs never commits on its own, not even at a rebalance.
 *
 * Each partition is processed in order (kafkajs hands one batch of a partition
 * at a time); up to `partitionsConsumedConcurrently` partitions run in parallel,
 * and the offsets of the batches that finish together go to Kafka in one
 * OffsetCommit (offset-committer.ts), while the next fetch is already on its
 * way: one commit per fetch cycle, off the critical path. Stopping waits for
 * the last commit.
 *
 * Fetches are tuned for latency: the broker answers as soon as it has one
 * byte (`minBytes` 1) and waits at most `sink.fetchMaxWaitMs` when it has
 * none. A record committed while a fetch waits was measured to reach the
 * sink only when that wait ran out (the e2e benchmark at 10k writes/s:
 * Kafka commit → sink receive p50 22 ms with 20 ms, 12 ms with 5 ms), so the
 * wait is short: an idle sink polls each broker every 5 ms.
 */

export interface PartitionBatch {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
  /** offset of the last record of the batch (it may be a transaction marker kafkajs filtered out) */
  lastOffset: bigint;
  highWatermark: bigint;
  heartbeat(): Promise<void>;
}

/** Returns the offset to commit (the next one to read after a restart), or undefined to commit nothing. */
export type BatchHandler = (batch: PartitionBatch) => Promise<bigint | undefined>;

export interface SinkConsumerOptions {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  partitionsConsumedConcurrently: number;
  fetchMaxBytes: number;
  fetchMaxBytesPerPartition: number;
  fetchMaxWaitMs: number;
  /** Least time between two OffsetCommit requests (offset-committer.ts). */
  offsetCommitIntervalMs: number;
  sessionTimeoutMs: number;
  log: Logger;
  handler: BatchHandler;
  onAssignment: (assignment: Record<string, number[]>) => void;
  onCommit: (topic: string, partition: number, offset: bigint) => void;
  onFatal: (err: Error) => void;
}

export class SinkConsumer {
  private consumer: Consumer | undefined;
  private committer: OffsetCommitter | undefined;
  private assignment: Record<string, number[]> = {};
  private joined = false;

  constructor(private readonly o: SinkConsumerOptions) {}

  get ready(): boolean {
    return this.joined && Object.values(this.assignment).some((p) => p.length > 0);
  }

  get assigned(): Record<string, number[]> {
    return this.assignment;
  }

  async start(): Promise<void> {
    const { o } = this;
    const heartbeatInterval = Math.min(3000, Math.floor(o.sessionTimeoutMs / 3));
    const consumer = o.kafka.consumer({
      groupId: o.groupId,
      // Only committed source transactions: aborted events must never be applied.
      readUncommitted: false,
      sessionTimeout: o.sessionTimeoutMs,
      heartbeatInterval,
      minBytes: 1,
      maxWaitTimeInMs: o.fetchMaxWaitMs,
      // Small fetches keep a cycle's events young: the whole cycle lives until
      // its apply returns, and 10 MiB cycles (kafkajs' default) cost the sink
      // most of its time in GC and hundreds of MB of heap (BENCHMARKS.md).
      maxBytes: o.fetchMaxBytes,
      maxBytesPerPartition: o.fetchMaxBytesPerPartition,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    const committer = new OffsetCommitter((offsets) => consumer.commitOffsets(offsets), o.offsetCommitIntervalMs);
    this.committer = committer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.joined = true;
      this.assignment = e.payload.memberAssignment;
      o.onAssignment(this.assignment);
      o.log.info({ assignment: this.assignment, group: e.payload.groupId }, 'joined the consumer group');
    });
    consumer.on(consumer.events.REBALANCING, () => {
      this.joined = false;
      o.log.info('consumer group rebalancing');
    });
    consumer.on(consumer.events.CRASH, (e) => {
      const err = e.payload.error;
      if (!e.payload.restart) o.onFatal(err instanceof Error ? err : new Error(String(err)));
      else o.log.warn({ err }, 'consumer crashed; kafkajs restarts it from the committed offsets');
    });
    try {
      await consumer.connect();
      // A new group starts at the beginning: the seed direction of a bootstrap needs the whole history.
      await consumer.subscribe({ topics: o.topics, fromBeginning: true });
    } catch (err) {
      throw TandemError.wrap('KAFKA_UNAVAILABLE', `cannot join consumer group ${o.groupId}`, err);
    }
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: o.partitionsConsumedConcurrently,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
        if (!isRunning() || isStale()) return;
        const where = { topic: batch.topic, partition: batch.partition };
        // A batch may outlast the session (the writer retrying through a target failover): keep the membership.
        const commit = await withHeartbeats(
          () =>
            o.handler({
              topic: batch.topic,
              partition: batch.partition,
              messages: batch.messages,
              lastOffset: BigInt(batch.lastOffset()),
              highWatermark: BigInt(batch.highWatermark),
              heartbeat,
            }),
          heartbeat,
          Math.max(100, Math.floor(heartbeatInterval / 2)), // kafkajs sends at most one per heartbeatInterval
          (err) => o.log.warn({ ...where, err }, 'heartbeat failed during a batch; the group is rebalancing, the consumer rejoins after it'),
        );
        if (commit !== undefined) {
          // Not awaited: the next fetch does not wait for Kafka to store the
          // offset. The batch is applied (that is what the offset needs); a
          // commit lost to a rebalance or a crash only makes the partition's
          // next owner re-read what the slot markers already cover.
          const offset = commit.toString();
          committer.commit({ topic: batch.topic, partition: batch.partition, offset }).then(
            () => o.onCommit(batch.topic, batch.partition, commit),
            (err: unknown) => {
              if (membershipError(err) !== undefined) {
                o.log.warn({ ...where, offset, err }, 'offset commit refused: this member lost its partitions; the group rebalances and the next owner re-reads from the last committed offset');
              } else {
                o.log.warn({ ...where, offset, err }, 'offset commit failed; a later batch of the partition commits past it, or after a restart the markers skip what it covered');
              }
            },
          );
        }
        // Throwing above leaves the batch unresolved: kafkajs does not move past it.
      },
    });
  }

  /**
   * Makes the next fetch of a partition start at `offset` (kafkajs marks the
   * partition's batches in flight stale). Used to re-apply events a target
   * failover lost; offsets past it are committed again as the partition is
   * re-read.
   */
  seek(topic: string, partition: number, offset: bigint): void {
    this.consumer?.seek({ topic, partition, offset: offset.toString() });
  }

  /** Stops fetching, waits for the batch in flight (applied and committed), leaves the group. */
  async stop(): Promise<void> {
    const c = this.consumer;
    if (!c) return;
    this.consumer = undefined;
    await c.stop();
    await this.committer?.idle();
    await c.disconnect();
  }
}
