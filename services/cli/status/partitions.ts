import type { Admin, Kafka } from 'kafkajs';
import { TandemError } from '../../shared/errors';
import { topicsOf } from '../../shared/kafka-client';

/**
 * The sink group's position on each partition of the peers' changes topics.
 *
 * Lag is the number of committed data records after the group's committed
 * offset, not `log end - committed`: a source writes in Kafka transactions,
 * and each transaction ends with a commit marker that takes an offset but is
 * never delivered. A sink at rest has therefore consumed every record while
 * `log end - committed` still shows 1 or 2 per partition. So partitions with a
 * small raw gap (up to COUNT_LIMIT) are read with a read_committed consumer
 * from the committed offset to the log end and their data records counted
 * (aborted records are not counted either, as the sink never sees them); a
 * larger gap is shown as is, marked approximate (`lagExact: false`).
 */
export interface PartitionRow {
  topic: string;
  partition: number;
  /** Next offset the group reads; null when it never committed (it then starts at the log start). */
  committed: string | null;
  logStart: string;
  logEnd: string;
  lag: number;
  lagExact: boolean;
}

export const COUNT_LIMIT = 10_000;

/** Peer DCs: the DCs of the `tandem.<dc>.changes` topics other than this DC's own. */
export function peersFromTopics(topics: string[], dc: string): string[] {
  return topics
    .map((t) => /^tandem\.([a-z0-9][a-z0-9-]*)\.changes$/.exec(t)?.[1])
    .filter((p): p is string => p !== undefined && p !== dc)
    .sort();
}

export async function readPartitions(kafka: Kafka, admin: Admin, groupId: string, peers: string[], topicNames: string[]): Promise<PartitionRow[]> {
  const rows: PartitionRow[] = [];
  for (const peer of peers) {
    const topic = topicsOf(peer).changes;
    if (!topicNames.includes(topic)) throw new TandemError('TOPIC_MISMATCH', `topic ${topic} (peer ${peer}) does not exist`);
    const [ends, [committed]] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId, topics: [topic] })]);
    const byPartition = new Map(committed.partitions.map((p) => [p.partition, p.offset]));
    const toCount: { partition: number; from: bigint; to: bigint }[] = [];
    for (const e of ends.sort((x, y) => x.partition - y.partition)) {
      const c = byPartition.get(e.partition);
      const from = c === undefined || c === '-1' ? BigInt(e.low) : BigInt(c);
      const raw = BigInt(e.high) - from;
      rows.push({ topic, partition: e.partition, committed: c === undefined || c === '-1' ? null : c, logStart: e.low, logEnd: e.high, lag: Number(raw > 0n ? raw : 0n), lagExact: raw <= 0n });
      if (raw > 0n && raw <= BigInt(COUNT_LIMIT)) toCount.push({ partition: e.partition, from, to: BigInt(e.high) });
    }
    if (toCount.length > 0) {
      const counts = await countDataRecords(kafka, topic, toCount);
      for (const r of rows) {
        const n = r.topic === topic ? counts.get(r.partition) : undefined;
        if (n !== undefined) {
          r.lag = n;
          r.lagExact = true;
        }
      }
    }
  }
  return rows;
}

/**
 * Counts the records a read_committed consumer sees in [from, to) of each
 * partition. A partition is done when a record at `to - 2` or later was seen
 * (the last offset may be a commit marker); the read ends when every
 * partition is done, or nothing has arrived for `idleMs` after joining (the
 * rest are markers or aborted records only). A partition not finished by
 * `timeoutMs` is left out, and its raw gap stays (approximate).
 */
export async function countDataRecords(
  kafka: Kafka,
  topic: string,
  ranges: { partition: number; from: bigint; to: bigint }[],
  o: { idleMs?: number; timeoutMs?: number } = {},
): Promise<Map<number, number>> {
  const idleMs = o.idleMs ?? 1500;
  const counts = new Map<number, number>(ranges.map((r) => [r.partition, 0]));
  const pending = new Set(ranges.map((r) => r.partition));
  const consumer = kafka.consumer({
    groupId: `tandem-status-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
    readUncommitted: false,
    maxWaitTimeInMs: 200,
    allowAutoTopicCreation: false,
  });
  await consumer.connect();
  let finished = false;
  try {
    await consumer.subscribe({ topic, fromBeginning: false });
    await new Promise<void>((resolve, reject) => {
      let idle: NodeJS.Timeout | undefined;
      const done = () => {
        finished = true;
        clearTimeout(timer);
        clearTimeout(idle);
        resolve();
      };
      const armIdle = () => {
        clearTimeout(idle);
        idle = setTimeout(done, idleMs);
      };
      const timer = setTimeout(() => {
        // Still receiving at the deadline: the pending partitions' counts are partial, so drop them.
        for (const p of pending) counts.delete(p);
        done();
      }, o.timeoutMs ?? 20_000);
      consumer.on(consumer.events.GROUP_JOIN, armIdle);
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const range = ranges.find((r) => r.partition === batch.partition);
            if (finished || !range || !pending.has(batch.partition)) return;
            for (const m of batch.messages) {
              const off = BigInt(m.offset);
              if (off >= range.from && off < range.to) counts.set(batch.partition, (counts.get(batch.partition) ?? 0) + 1);
              if (off + 2n >= range.to) pending.delete(batch.partition);
            }
            if (pending.size === 0) done();
            else armIdle();
          },
        })
        .catch(reject);
      for (const r of ranges) consumer.seek({ topic, partition: r.partition, offset: r.from.toString() });
    });
  } finally {
    await consumer.disconnect();
  }
  // Partitions still pending after the idle wait hold only markers or aborted records past what was seen.
  return counts;
}
