import { ConfigResourceTypes, type Admin, type ITopicConfig } from 'kafkajs';
import { TandemError, errorMessage } from './errors';
import { topicsOf } from './kafka-client';
import { POLICIES, retry } from './retry';

/** What `tandem topics init` sets as the changes topic's max.message.bytes. */
export const CHANGES_MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/**
 * Creates a DC's four topics, idempotently:
 * - `tandem.<dc>.changes`: P partitions, a slot's whole history in one partition
 *   (partition = floor(slot × P / 16384)), time-based retention.
 * - `tandem.<dc>.checkpoints`: compacted, one record per replica link.
 * - `tandem.<dc>.dlq`: what a sink could not apply, with the error in headers.
 * - `tandem.<dc>.conflicts`: the conflicts the DC's sinks detected (one JSON
 *   record each, shared/conflict-record.ts), time-based retention.
 *
 * It never changes the partition count of an existing changes topic: adding
 * partitions would move slots to other partitions and split their history,
 * breaking per-slot order for every consumer.
 */
export interface TopicPlan {
  dc: string;
  partitions: number;
  /** Changes retention in ms; -1 keeps forever. */
  retentionMs: number;
  /** -1 takes the broker's default.replication.factor. */
  replicationFactor: number;
}

export type TopicOutcome = { topic: string; action: 'created' | 'exists'; partitions: number };

export const DEFAULT_PARTITIONS = 64;
export const DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000;

/**
 * Right after a broker starts, or just after a topic is created, metadata
 * requests may answer UNKNOWN_TOPIC_OR_PARTITION or LEADER_NOT_AVAILABLE for
 * a few seconds. Those are retriable by Kafka's own definition; ensureTopics
 * is idempotent, so it simply runs again, for up to `retryForMs`.
 */
export async function ensureTopics(admin: Admin, plan: TopicPlan, retryForMs = 30_000): Promise<TopicOutcome[]> {
  return retry(() => ensureTopicsOnce(admin, plan), {
    policy: POLICIES.topicMetadata,
    budget: { forMs: retryForMs },
    // kafkajs's own retriable flag; a TandemError here is ours (a partition count mismatch), never retried.
    retriable: (err) => (err as { retriable?: boolean }).retriable === true && !(err instanceof TandemError),
  });
}

async function ensureTopicsOnce(admin: Admin, plan: TopicPlan): Promise<TopicOutcome[]> {
  const names = topicsOf(plan.dc);
  const wanted: ITopicConfig[] = [
    {
      topic: names.changes,
      numPartitions: plan.partitions,
      replicationFactor: plan.replicationFactor,
      configEntries: [
        { name: 'retention.ms', value: String(plan.retentionMs) },
        { name: 'cleanup.policy', value: 'delete' },
        // Big keys travel as chunk events of source.maxEventPayloadBytes (4 MiB
        // by default, 6 MiB at most): room for one per record batch.
        { name: 'max.message.bytes', value: String(CHANGES_MAX_MESSAGE_BYTES) },
      ],
    },
    {
      topic: names.checkpoints,
      numPartitions: 1,
      replicationFactor: plan.replicationFactor,
      configEntries: [
        { name: 'cleanup.policy', value: 'compact' },
        { name: 'min.compaction.lag.ms', value: '60000' },
      ],
    },
    {
      topic: names.dlq,
      numPartitions: 1,
      replicationFactor: plan.replicationFactor,
      configEntries: [
        { name: 'retention.ms', value: String(plan.retentionMs) },
        { name: 'max.message.bytes', value: String(8 * 1024 * 1024) },
      ],
    },
    {
      topic: names.conflicts,
      numPartitions: 1,
      replicationFactor: plan.replicationFactor,
      configEntries: [
        { name: 'retention.ms', value: String(plan.retentionMs) },
        { name: 'cleanup.policy', value: 'delete' },
      ],
    },
  ];
  const existing = new Set(await admin.listTopics());
  const outcomes: TopicOutcome[] = [];
  const meta = await admin.fetchTopicMetadata({ topics: wanted.map((t) => t.topic).filter((t) => existing.has(t)) });
  const partitionsOf = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
  const current = partitionsOf.get(names.changes);
  if (current !== undefined && current !== plan.partitions) {
    throw new TandemError(
      'TOPIC_MISMATCH',
      `${names.changes} exists with ${current} partitions, not ${plan.partitions}. Tandem never changes it: ` +
        `partition = floor(slot × P / 16384), so another P would move slots to other partitions and split each ` +
        `slot's history. Keep --partitions ${current}, or create a new DC topic set and re-seed it.`,
    );
  }
  const toCreate = wanted.filter((t) => !existing.has(t.topic));
  if (toCreate.length > 0) {
    await admin.createTopics({ topics: toCreate, waitForLeaders: true });
  }
  for (const t of wanted) {
    outcomes.push({
      topic: t.topic,
      action: existing.has(t.topic) ? 'exists' : 'created',
      partitions: partitionsOf.get(t.topic) ?? t.numPartitions ?? 1,
    });
  }
  return outcomes;
}

/** Partition count of a DC's changes topic, or a clear error when it is missing. */
export async function changesPartitions(admin: Admin, dc: string): Promise<number> {
  const topic = topicsOf(dc).changes;
  if (!(await admin.listTopics()).includes(topic)) {
    throw new TandemError('TOPIC_MISMATCH', `topic ${topic} does not exist; create it with \`tandem topics init --dc ${dc}\``);
  }
  const meta = await admin.fetchTopicMetadata({ topics: [topic] });
  return meta.topics[0].partitions.length;
}

/**
 * The changes topic's max.message.bytes as the broker reports it (an operator
 * may have raised it). When the broker will not say (no DescribeConfigs
 * permission), the value `topics init` sets, and a warning.
 */
export async function changesMaxMessageBytes(admin: Admin, dc: string, warn: (msg: string) => void): Promise<number> {
  const topic = topicsOf(dc).changes;
  try {
    const res = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['max.message.bytes'] }], includeSynonyms: false });
    const value = Number(res.resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue);
    if (Number.isInteger(value) && value > 0) return value;
    warn(`${topic} reports no max.message.bytes; assuming ${CHANGES_MAX_MESSAGE_BYTES}`);
  } catch (err) {
    warn(`cannot read max.message.bytes of ${topic} (${errorMessage(err)}); assuming ${CHANGES_MAX_MESSAGE_BYTES}`);
  }
  return CHANGES_MAX_MESSAGE_BYTES;
}
