import type { Kafka, KafkaMessage } from 'kafkajs';
import { TandemError } from './errors';

/**
 * Reads a topic from the beginning (or given offsets) to its current end with
 * a read_committed consumer that never commits offsets, calling `onMessage` in
 * partition order. Used for checkpoints at start, and by tools and tests.
 *
 * "The end" of a transactional topic is subtle: the log ends with a commit or
 * abort marker, which read_committed never delivers, and an aborted tail is
 * skipped too. So a partition counts as read when the last record seen is at
 * end - 2 or later (the fast path), and the whole read ends when nothing more
 * arrives for `idleMs` after the consumer joined (the sure path).
 */
export interface ReadToEndOptions {
  topic: string;
  /** Only these partitions; default all. */
  partitions?: number[];
  timeoutMs?: number;
  idleMs?: number;
  groupPrefix?: string;
}

export async function readTopicToEnd(
  kafka: Kafka,
  o: ReadToEndOptions,
  onMessage: (m: KafkaMessage, partition: number) => void,
): Promise<{ messages: number }> {
  const timeoutMs = o.timeoutMs ?? 30_000;
  const idleMs = o.idleMs ?? 1500;
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

  const consumer = kafka.consumer({
    groupId: `${o.groupPrefix ?? 'tandem-reader'}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
    readUncommitted: false,
    maxWaitTimeInMs: 200,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: o.topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      let idle: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        clearTimeout(idle);
        resolve();
      };
      const armIdle = () => {
        clearTimeout(idle);
        idle = setTimeout(done, idleMs);
      };
      const timer = setTimeout(
        () => reject(new TandemError('KAFKA_UNAVAILABLE', `could not read ${o.topic} to its end within ${timeoutMs} ms`, { retriable: true })),
        timeoutMs,
      );
      consumer.on(consumer.events.GROUP_JOIN, armIdle);
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (o.partitions && !o.partitions.includes(batch.partition)) return;
            for (const m of batch.messages) {
              count++;
              onMessage(m, batch.partition);
            }
            const end = ends.find((e) => e.partition === batch.partition);
            if (end && BigInt(batch.lastOffset()) + 2n >= BigInt(end.offset)) pending.delete(batch.partition);
            if (pending.size === 0) done();
            else armIdle();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return { messages: count };
}
