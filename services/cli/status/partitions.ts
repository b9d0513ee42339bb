import type { Admin, Kafka } from 'kafkajs';
import { TandemError } from '../../shared/errors';
import { readRecordHeaders } from '../../shared/change-record';
import { topicsOf } from '../../shared/kafka-client';
import { readPartitions as readRanges } from '../../shared/partition-reader';

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
 *
 * A record carries a run of events; a counted partition also gets its lag in
 * events (`lagEvents`, from each record's `count` header: no decoding).
 */
export interface PartitionRow {
  topic: string;
  partition: number;
  /** Next offset the group reads; null when it never committed (it then starts at the log start). */
  committed: string | null;
  logStart: string;
  logEnd: string;
  /** records behind (Kafka offsets' unit) */
  lag: number;
  lagExact: boolean;
  /** events in those records, when they were counted (lagExact) */
  lagEvents?: number;
}

export const COUNT_LIMIT = 10_000;

/** Peer DCs: the DCs of the `tandem.<dc>.changes` topics other than this DC's own. */
export function peersFromTopics(topics: string[], dc: string): string[] {
  return topics
    .map((t) => /^tandem\.([a-z0-9][a-z0-9-]*)\.changes$/.exec(t)?.[1])
    .filter((p): p is string => p !== undefined && p !== dc)
    .sort();
}

export async function readPartitionRows(kafka: Kafka, admin: Admin, groupId: string, peers: string[], topicNames: string[]): Promise<PartitionRow[]> {
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
      rows.push({
        topic,
        partition: e.partition,
        committed: c === undefined || c === '-1' ? null : c,
        logStart: e.low,
        logEnd: e.high,
        lag: Number(raw > 0n ? raw : 0n),
        lagExact: raw <= 0n,
        ...(raw <= 0n ? { lagEvents: 0 } : {}),
      });
      if (raw > 0n && raw <= BigInt(COUNT_LIMIT)) toCount.push({ partition: e.partition, from, to: BigInt(e.high) });
    }
    if (toCount.length > 0) {
      const counts = await countDataRecords(kafka, topic, toCount);
      for (const r of rows) {
        const n = r.topic === topic ? counts.get(r.partition) : undefined;
        if (n !== undefined) {
          r.lag = n.records;
          r.lagEvents = n.events;
          r.lagExact = true;
        }
      }
    }
  }
  return rows;
}

/**
 * Counts the records a read_committed consumer sees in [from, to) of each
 * partition, and the events they carry (`count` header; 1 for a record
 * without it), with the shared range reader: a partition is done when the
 * consumer's position (batch last offsets, transaction markers included)
 * reaches `to`. A partition not finished by `timeoutMs` is left out, and its
 * raw gap stays (approximate).
 */
export async function countDataRecords(
  kafka: Kafka,
  topic: string,
  ranges: { partition: number; from: bigint; to: bigint }[],
  o: { timeoutMs?: number } = {},
): Promise<Map<number, { records: number; events: number }>> {
  const counts = new Map(ranges.map((r) => [r.partition, { records: 0, events: 0 }]));
  const position = new Map<number, bigint>();
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), o.timeoutMs ?? 20_000);
  try {
    await readRanges(kafka, {
      topic,
      ranges,
      groupPrefix: 'tandem-status',
      signal: deadline.signal,
      onMessages: (partition, messages) => {
        const c = counts.get(partition) ?? { records: 0, events: 0 };
        c.records += messages.length;
        for (const m of messages) c.events += countOf(m.headers);
        counts.set(partition, c);
      },
      onPosition: (partition, next) => position.set(partition, next),
    });
  } finally {
    clearTimeout(timer);
  }
  // Unfinished at the deadline: a partial count would understate the lag, so drop it.
  for (const r of ranges) if (r.from < r.to && (position.get(r.partition) ?? r.from) < r.to) counts.delete(r.partition);
  return counts;
}

/** Events in a record, from its headers; a header that does not say counts as one event. */
function countOf(headers: Parameters<typeof readRecordHeaders>[0]): number {
  try {
    return readRecordHeaders(headers).count ?? 1;
  } catch {
    return 1; // a malformed header: the sink sends that record to its DLQ as one entry
  }
}
