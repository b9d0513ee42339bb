import type { Kafka, KafkaMessage } from 'kafkajs';
import { TandemError } from './errors';
import { readRanges, type ReadMode } from './partition-reader';

/**
 * Reads a topic from the beginning to the end it had when the read started,
 * calling `onMessage` in partition order: the read of the source's
 * checkpoints at start, and of tools and tests. It is `readRanges`
 * (partition-reader.ts: the consumer, the seeks, when a range is done) over
 * each partition's [low, end) at the start, with its own way of failing.
 *
 * How it fails is what the source's start relies on, so it is kept as it
 * always was: kafkajs' own retry policy, which restarts the consumer after a
 * retriable crash (a broker that fails mid-read) and reads again from the
 * beginning, until the read is done or `timeoutMs` has passed
 * (KAFKA_UNAVAILABLE, retriable); other errors pass as kafkajs and the admin
 * client throw them. A read that failed fast on the first crash (as `tandem
 * audit` does) would stop a source whenever a broker restarts while it starts.
 * Records that arrive while it reads may be delivered too.
 */
export interface ReadToEndOptions {
  topic: string;
  /** Only these partitions; default all. */
  partitions?: number[];
  timeoutMs?: number;
  groupPrefix?: string;
}

const TO_END_READ: ReadMode = { groupPrefix: 'tandem-reader', maxWaitTimeInMs: 200, crash: 'restart', keepReadingDone: true };

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
  const { messages } = await readRanges(
    kafka,
    {
      topic: o.topic,
      ranges: ends.map((e) => ({ partition: e.partition, from: BigInt(e.low), to: BigInt(e.offset) })),
      groupPrefix: o.groupPrefix,
      deadline: { ms: timeoutMs, message: `could not read ${o.topic} to its end within ${timeoutMs} ms` },
      onMessages: (partition, batch) => {
        for (const m of batch) onMessage(m, partition);
      },
    },
    TO_END_READ,
  );
  return { messages };
}
