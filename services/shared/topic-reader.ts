import type { Kafka, KafkaMessage } from 'kafkajs';
import { TandemError } from './errors';

/**
 * Reads a topic from the beginning to the end it had when the read started,
 * with a read_committed consumer that never commits offsets, calling
 * `onMessage` in partition order. Used for checkpoints at start, and by tools
 * and tests.
 *
 * "The end" of a transactional topic is subtle: the log ends with commit or
 * abort markers, which read_committed never delivers, and aborted records are
 * skipped. kafkajs still reports every fetched batch, filtered ones included,
 * in its END_BATCH_PROCESS event with the batch's last raw offset; a partition
 * is read once that position reaches its end offset. (A timer is no end
 * condition: under load the first fetch can take seconds, and a reader that
 * gave up early once made a restarted source miss its checkpoints.)
 */
export interface ReadToEndOptions {
  topic: string;
  /** Only these partitions; default all. */
  partitions?: number[];
  timeoutMs?: number;
  groupPrefix?: string;
}

export async function readTopicToEnd(
  kafka: Kafka,
  o: ReadToEndOptions,
  onMessage: (m: KafkaMessage, partition: number) => void,
): Promise<{ messages: number }> {
  const timeoutMs = o.timeoutMs ?? 30_000;
  const admin = kafka.admin();
  await admin.connect();
  let ends: { partition: number; offset: string; low: string }[];
  try {
    if (!(await admin.listTopics()).includes(o.topic)) {
      throw new TandemError('TOPIC_MISMATCH', `topic ${o.topic} does not exist`);
    }
    ends = (await admin.fetchTopicOffsets(o.topic)).filter((e) => !o.partitions || o.partitions.includes(e.partition));
  } finally {
    await admin.disconnect();
  }
  const pending = new Set(ends.filter((e) => BigInt(e.offset) > BigInt(e.low)).map((e) => e.partition));
  let count = 0;
  if (pending.size === 0) return { messages: 0 };

  const endOf = new Map(ends.map((e) => [e.partition, BigInt(e.offset)]));
  const consumer = kafka.consumer({
    groupId: `${o.groupPrefix ?? 'tandem-reader'}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
    readUncommitted: false,
    maxWaitTimeInMs: 200,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: o.topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new TandemError('KAFKA_UNAVAILABLE', `could not read ${o.topic} to its end within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const reached = (partition: number, lastOffset: string) => {
        const end = endOf.get(partition);
        if (end !== undefined && BigInt(lastOffset) + 1n >= end) pending.delete(partition);
        if (pending.size === 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => reached(payload.partition, payload.lastOffset));
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (o.partitions && !o.partitions.includes(batch.partition)) return;
            for (const m of batch.messages) {
              count++;
              onMessage(m, batch.partition);
            }
            reached(batch.partition, batch.lastOffset());
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return { messages: count };
}
