import { InvalidArgumentError } from 'commander';
import { Kafka, type Admin } from 'kafkajs';
import { TandemError, errorMessage } from '../shared/errors';
import { kafkaConfig, type KafkaSettings } from '../shared/kafka-client';
import type { PartitionRange } from '../shared/partition-reader';
import { SLOT_COUNT } from '../shared/slot';

/**
 * Where a tool starts and stops reading a changes topic (`--from`, `--to`,
 * `--since`, `--until`), and the Kafka I/O that turns it into offsets.
 *
 *   position  = "earliest" | "latest" | "now" | time | offsets
 *   time      = ISO 8601 ("2024-05-01T12:00:00Z", "2024-05-01") | relative ("-15m", "-2h", "-30s", "-7d")
 *   offsets   = partition ":" offset *("," partition ":" offset)
 *
 * A time becomes, per partition, the first offset whose record timestamp is at
 * or after it (Kafka ListOffsets by timestamp); the source sets every record's
 * timestamp to the event's capturedAt, so "events captured at or after T". As
 * an upper bound (`--to`, `--until`) it is exclusive: events captured before T.
 */
export type PositionSpec =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'time'; ms: number; text: string }
  | { kind: 'offsets'; offsets: Map<number, bigint> };

const RELATIVE = /^-(\d+)(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
// Date.parse accepts much more than ISO (e.g. "1"); require a date first.
const ISO = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** A time: ISO 8601, "now", or relative to now ("-15m"). Returns ms since the epoch. */
export function parseTime(value: string, now = Date.now()): number {
  const v = value.trim();
  if (v === 'now') return now;
  const rel = RELATIVE.exec(v);
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS];
  if (ISO.test(v)) {
    const ms = Date.parse(v);
    if (Number.isFinite(ms)) return ms;
  }
  throw new InvalidArgumentError(`expected an ISO 8601 time (2024-05-01T12:00:00Z) or a relative one (-15m, -2h, -7d), got "${value}"`);
}

/**
 * A time as parseTime reads it, or a bare duration meaning that long ago
 * ("1h" is "-1h"): `tandem conflicts --since 1h`. Apart from parseTime, so
 * the options of audit and replay keep their documented forms.
 */
export function parseTimeOrAgo(value: string, now = Date.now()): number {
  const ago = /^(\d+)(ms|s|m|h|d)$/.exec(value.trim());
  if (ago) return now - Number(ago[1]) * UNIT_MS[ago[2] as keyof typeof UNIT_MS];
  try {
    return parseTime(value, now);
  } catch {
    throw new InvalidArgumentError(`expected a duration ago (30m, 1h, 7d), an ISO 8601 time (2024-05-01T12:00:00Z) or a relative one (-15m), got "${value}"`);
  }
}

export function parsePosition(value: string, now = Date.now()): PositionSpec {
  const v = value.trim();
  if (v === 'earliest' || v === 'latest') return { kind: v };
  if (/^\d+:/.test(v)) {
    const offsets = new Map<number, bigint>();
    for (const part of v.split(',')) {
      const m = /^(\d{1,5}):(\d{1,19})$/.exec(part.trim());
      if (!m) throw new InvalidArgumentError(`expected partition:offset[,partition:offset…], got "${part}" in "${value}"`);
      const p = Number(m[1]);
      if (offsets.has(p)) throw new InvalidArgumentError(`partition ${p} is given twice in "${value}"`);
      offsets.set(p, BigInt(m[2]));
    }
    return { kind: 'offsets', offsets };
  }
  try {
    return { kind: 'time', ms: parseTime(v, now), text: v };
  } catch {
    throw new InvalidArgumentError(`expected earliest, latest, partition:offset[,…], an ISO 8601 time or a relative time such as -15m, got "${value}"`);
  }
}

/** `--slot-range a-b` (inclusive) or a single slot. */
export interface SlotRange {
  first: number;
  last: number;
}

export function parseSlotRange(value: string): SlotRange {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(value.trim());
  const first = m ? Number(m[1]) : NaN;
  const last = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || first >= SLOT_COUNT || last >= SLOT_COUNT || first > last) {
    throw new InvalidArgumentError(`expected a slot or an inclusive slot range within 0-${SLOT_COUNT - 1} such as 0-5460, got "${value}"`);
  }
  return { first, last };
}

/** The partitions that hold slots first..last: floor(slot × P / 16384) is monotonic. */
export function partitionsOfSlots(r: SlotRange, partitions: number): number[] {
  const lo = Math.floor((r.first * partitions) / SLOT_COUNT);
  const hi = Math.floor((r.last * partitions) / SLOT_COUNT);
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

export interface PartitionBounds {
  partition: number;
  /** first offset still in the log */
  low: bigint;
  /** high watermark: the next offset to be written */
  high: bigint;
}

/**
 * The offset a position means in one partition. `byTime` holds the answer of
 * ListOffsets-by-timestamp when the position is a time. Partitions an offset
 * list does not name get `undefined`: a --from list reads only its partitions,
 * a --to list lets the others run to the end.
 */
export function positionOffset(spec: PositionSpec, b: PartitionBounds, byTime?: Map<number, bigint>): bigint | undefined {
  switch (spec.kind) {
    case 'earliest':
      return b.low;
    case 'latest':
      return b.high;
    case 'time':
      return clamp(byTime?.get(b.partition) ?? b.high, b);
    case 'offsets': {
      const o = spec.offsets.get(b.partition);
      return o === undefined ? undefined : clamp(o, b);
    }
  }
}

const clamp = (o: bigint, b: PartitionBounds) => (o < b.low ? b.low : o > b.high ? b.high : o);

/**
 * Ranges to read, one per partition in `only` (default all): [from, to). With
 * `follow`, ranges have no end. Partitions an offset-list --from leaves out are
 * not read.
 */
export function planRanges(
  bounds: PartitionBounds[],
  from: PositionSpec,
  to: PositionSpec | undefined,
  times: { from?: Map<number, bigint>; to?: Map<number, bigint> },
  opts: { only?: number[]; follow?: boolean } = {},
): PartitionRange[] {
  const out: PartitionRange[] = [];
  for (const b of bounds) {
    if (opts.only && !opts.only.includes(b.partition)) continue;
    const start = positionOffset(from, b, times.from);
    if (start === undefined) continue;
    if (opts.follow) {
      out.push({ partition: b.partition, from: start });
      continue;
    }
    let end = to === undefined ? b.high : (positionOffset(to, b, times.to) ?? b.high);
    // A record's timestamp is its last event's capture time: the first record
    // at or after a time `to` may still hold earlier events. Read it too; the
    // capture-time window (timeWindow) leaves out its later events.
    if (to?.kind === 'time' && end < b.high) end += 1n;
    out.push({ partition: b.partition, from: start, to: end < start ? start : end });
  }
  return out.sort((x, y) => x.partition - y.partition);
}

/** Checks that an offset list names only partitions the topic has. */
export function checkOffsetPartitions(spec: PositionSpec, option: string, partitions: number): void {
  if (spec.kind !== 'offsets') return;
  for (const p of spec.offsets.keys()) {
    if (p >= partitions) throw new TandemError('USAGE', `${option}: partition ${p} does not exist (the topic has ${partitions})`);
  }
}

/**
 * A Kafka client for interactive tools: fewer, shorter retries than the
 * services', so an unreachable broker is reported in seconds, not minutes.
 */
export function toolKafka(settings: KafkaSettings, clientId: string): Kafka {
  return new Kafka({
    ...kafkaConfig(settings, clientId),
    retry: { initialRetryTime: 200, retries: 2, maxRetryTime: 2000 },
    connectionTimeout: 3000,
  });
}

export async function connectAdmin(kafka: Kafka, brokers: string[]): Promise<Admin> {
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (err) {
    throw new TandemError('KAFKA_UNAVAILABLE', `cannot reach Kafka at ${brokers.join(',')}: ${errorMessage(err)}`, { cause: err });
  }
  return admin;
}

/** Low and high offsets of every partition; a clear error when the topic is missing. */
export async function topicBounds(admin: Admin, topic: string): Promise<PartitionBounds[]> {
  if (!(await admin.listTopics()).includes(topic)) {
    throw new TandemError('TOPIC_MISMATCH', `topic ${topic} does not exist (is the DC name right? \`tandem topics init\` creates it)`);
  }
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets
    .map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) }))
    .sort((a, b) => a.partition - b.partition);
}

/** ListOffsets by timestamp, for a time position; undefined for other kinds. */
export async function offsetsForTime(admin: Admin, topic: string, spec: PositionSpec | undefined): Promise<Map<number, bigint> | undefined> {
  if (spec?.kind !== 'time') return undefined;
  const rows = await admin.fetchTopicOffsetsByTimestamp(topic, spec.ms);
  return new Map(rows.map((r) => [r.partition, BigInt(r.offset)]));
}

/** The capture-time window a time position adds on top of the offsets (record timestamps can interleave across masters). */
export function timeWindow(from: PositionSpec, to: PositionSpec | undefined): { fromMs?: number; toMs?: number } {
  return { fromMs: from.kind === 'time' ? from.ms : undefined, toMs: to?.kind === 'time' ? to.ms : undefined };
}
