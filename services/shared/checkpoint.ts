import type { Kafka } from 'kafkajs';
import { TandemError, errorMessage } from './errors';
import { topicsOf } from './kafka-client';
import { readTopicToEnd } from './topic-reader';

/**
 * Per-link checkpoints in the compacted topic `tandem.<dc>.checkpoints`.
 *
 * A record's key is the replication id it was taken under and its value the
 * JSON below. Keying by replid (not by node id) is what makes failover work:
 * after a failover the promoted replica carries the old replid as `replid2`,
 * so on restart a master is matched with the checkpoint whose replid is its
 * master_replid or master_replid2 (see `matchCheckpoint`), whatever its node
 * id. When a link adopts a new replid (+CONTINUE <newid>), the publisher writes
 * a tombstone for the old key in the same transaction, so compaction drops it.
 *
 * Checkpoints are written in the same Kafka transaction as the events before
 * them, so a committed checkpoint never runs ahead of committed events.
 */
export interface CheckpointRecord {
  replid: string;
  /** master_repl_offset consumed and committed: PSYNC resumes at offset + 1. */
  offset: number;
  db: number;
  /** The master the link followed when it was written. */
  nodeId: string;
  address: string;
  /** Partition count of the changes topic the events went to (DESIGN §2: P never changes). */
  partitions: number;
  dc: string;
  updatedAt: number;
  lastFullResync?: { at: number; reason: string; replid: string };
}

export function encodeCheckpoint(c: CheckpointRecord): Buffer {
  return Buffer.from(JSON.stringify(c));
}

export function decodeCheckpoint(value: Buffer): CheckpointRecord {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (err) {
    throw new TandemError('EVENT_DECODE', `checkpoint record is not JSON: ${errorMessage(err)}`, { cause: err });
  }
  const c = parsed as Partial<CheckpointRecord>;
  if (typeof c.replid !== 'string' || typeof c.offset !== 'number' || typeof c.partitions !== 'number') {
    throw new TandemError('EVENT_DECODE', `checkpoint record lacks replid, offset or partitions: ${value.toString('utf8').slice(0, 200)}`);
  }
  return { db: 0, nodeId: '', address: '', dc: '', updatedAt: 0, ...c } as CheckpointRecord;
}

/**
 * Key prefix of the transaction sequence record: every source transaction
 * writes `__tx:<transactional id>` = `{"txSeq": n}` next to its checkpoints,
 * so that after a commit whose outcome is unknown (the reply was lost) the
 * source reads back whether transaction n committed, instead of sending its
 * events a second time (publisher.ts).
 */
export const TX_SEQUENCE_KEY_PREFIX = '__tx:';

export function txSequenceKey(transactionalId: string): string {
  return `${TX_SEQUENCE_KEY_PREFIX}${transactionalId}`;
}

/** The latest committed checkpoint per link key (a null value is a tombstone); transaction sequence records are left out. */
export async function loadCheckpoints(kafka: Kafka, dc: string, timeoutMs = 30_000): Promise<Map<string, CheckpointRecord>> {
  return (await loadCheckpointTopic(kafka, dc, timeoutMs)).checkpoints;
}

/** The checkpoints topic read to its end (read_committed): link checkpoints, and the last transaction sequence per transactional id. */
export async function loadCheckpointTopic(kafka: Kafka, dc: string, timeoutMs = 30_000): Promise<{ checkpoints: Map<string, CheckpointRecord>; txSeqs: Map<string, number> }> {
  const topic = topicsOf(dc).checkpoints;
  const latest = new Map<string, CheckpointRecord>();
  const txSeqs = new Map<string, number>();
  try {
    await readTopicToEnd(kafka, { topic, timeoutMs, groupPrefix: `tandem-checkpoint-reader-${dc}` }, (m) => {
      const key = m.key?.toString('utf8');
      if (key === undefined) return;
      if (key.startsWith(TX_SEQUENCE_KEY_PREFIX)) {
        const seq = m.value === null ? 0 : Number((JSON.parse(m.value.toString('utf8')) as { txSeq?: unknown }).txSeq);
        txSeqs.set(key.slice(TX_SEQUENCE_KEY_PREFIX.length), Number.isFinite(seq) ? seq : 0);
        return;
      }
      if (m.value === null) latest.delete(key);
      else latest.set(key, decodeCheckpoint(m.value));
    });
  } catch (err) {
    if (err instanceof TandemError && err.code === 'TOPIC_MISMATCH') {
      throw new TandemError('TOPIC_MISMATCH', `topic ${topic} does not exist; create it with \`tandem topics init --dc ${dc}\``);
    }
    throw err;
  }
  return { checkpoints: latest, txSeqs };
}

/** What INFO replication says about a master's replication ids (PSYNC2). */
export interface MasterReplIds {
  replid: string;
  replid2: string;
  /** The offset up to which replid2 is valid (second_repl_offset), or -1. */
  secondReplOffset: number;
  masterReplOffset: number;
}

export function parseReplIds(info: string): MasterReplIds {
  const field = (name: string) => new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1];
  return {
    replid: field('master_replid') ?? '',
    replid2: field('master_replid2') ?? '',
    secondReplOffset: Number(field('second_repl_offset') ?? -1),
    masterReplOffset: Number(field('master_repl_offset') ?? 0),
  };
}

/**
 * The checkpoint a master can continue from, if any: one taken under its
 * current replid, or under its previous replid (replid2) at an offset the
 * master still shares with that history (PSYNC2: offset + 1 <= second_repl_offset,
 * redis/src/replication.c masterTryPartialResynchronization).
 */
export function matchCheckpoint(ids: MasterReplIds, checkpoints: Map<string, CheckpointRecord>): CheckpointRecord | undefined {
  const current = checkpoints.get(ids.replid);
  if (current) return current;
  const previous = checkpoints.get(ids.replid2);
  if (previous && ids.secondReplOffset >= 0 && previous.offset + 1 <= ids.secondReplOffset) return previous;
  return undefined;
}
