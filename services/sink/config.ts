import { z } from 'zod';
import { baseConfigSchema, dcName } from '../shared/config-schema';

/**
 * The sink's configuration: the shared fields (dc, kafka, redis, http, log)
 * plus the `sink` section. `redis` is the TARGET cluster (this DC's cluster).
 * docs/sink.md and docs/configuration.md mirror this file.
 */
export const sinkSectionSchema = z
  .object({
    peers: z
      .array(dcName)
      .min(1)
      .describe('the other DCs; the sink consumes tandem.<peer>.changes of each and applies events whose origin is that peer'),
    snapshotPolicy: z
      .enum(['apply', 'skip', 'if-absent'])
      .default('apply')
      .describe('snapshot (RESTORE) events: apply (REPLACE), skip, or if-absent (never overwrite an existing key)'),
    applyFlush: z
      .boolean()
      .default(false)
      .describe('apply audit-only control events (FLUSHALL, FLUSHDB, SWAPDB, SCRIPT FLUSH) on every target master; off: logged and counted'),
    applyPublish: z.boolean().default(false).describe('apply PUBLISH/SPUBLISH control events; off: dropped and counted'),
    applyEvictions: z
      .boolean()
      .default(false)
      .describe('apply a peer\'s evictions (keys it deleted under maxmemory) as deletions here; off: dropped and counted, the key stays in this DC'),
    expirySkewMs: z
      .number().int().min(0).max(3_600_000).default(1000)
      .describe('clock-skew tolerance of expiry events: a peer\'s expiry deletes the key here only if this copy\'s deadline is at or before the expiry\'s capture time plus this'),
    maxRestoreBytes: z
      .number().int().min(1024 * 1024).default(512 * 1024 * 1024)
      .describe('largest RESTORE payload reassembled from payload-chunk events; a bigger key goes to the DLQ'),
    maxCommandsPerTransaction: z
      .number().int().min(1).max(100_000).default(1000)
      .describe('commands of one slot run per MULTI/EXEC; a longer run is split into several, each with its marker'),
    maxTransactionBytes: z
      .number().int().min(64 * 1024).default(16 * 1024 * 1024)
      .describe('argument bytes per MULTI/EXEC (a single larger event still goes alone)'),
    fetchMaxBytes: z
      .number().int().min(64 * 1024).default(512 * 1024)
      .describe('most record bytes one fetch brings (Kafka always returns at least one record); what one apply cycle holds in memory'),
    fetchMaxBytesPerPartition: z
      .number().int().min(16 * 1024).default(256 * 1024)
      .describe('most record bytes one fetch brings per partition'),
    fetchMaxWaitMs: z
      .number().int().min(1).max(1000).default(5)
      .describe('longest the broker holds a fetch that has no committed record to return; also how soon the sink sees a record committed while a fetch waits (lag), and how often an idle sink polls each broker'),
    offsetCommitIntervalMs: z
      .number().int().min(0).max(60_000).default(100)
      .describe('least time between two offset commits to Kafka (each carries the latest applied offset of every partition); a commit shares the consumer\'s one connection to the broker with its fetches, so commits back to back slow the fetches. A restart re-reads up to this much more, which the slot markers skip'),
    partitionsConsumedConcurrently: z
      .number().int().min(1).max(1024).default(64)
      .describe('Kafka partitions applied in parallel (each partition stays in order); at least the partitions this sink is assigned, so one fetch cycle applies every partition at once'),
    applyRetries: z
      .number().int().min(0).max(1000).default(60)
      .describe('retries of a MULTI/EXEC on transient target errors (MOVED refresh, LOADING, TRYAGAIN, CLUSTERDOWN, READONLY, connection loss) before the sink stops'),
    retryBackoffMs: z
      .number().int().min(1).default(100)
      .describe('first backoff between apply retries; doubles up to retryMaxBackoffMs'),
    retryMaxBackoffMs: z.number().int().min(1).default(2000).describe('longest backoff between apply retries'),
    waitReplicas: z
      .union([z.literal('auto'), z.number().int().min(0).max(16)])
      .default('auto')
      .describe('durable apply: target replicas that must acknowledge a batch\'s writes (WAIT, one per master per batch) before its offsets are committed; auto: 1 on masters that have a live replica, none elsewhere; 0: never wait (a target failover may then lose applied writes, which the sink re-applies only if it notices the marker behind)'),
    waitTimeoutMs: z
      .number().int().min(10).max(60_000).default(1000)
      .describe('how long one WAIT waits; on a timeout the batch is not committed, the timeout is logged and counted, and the WAIT is repeated until the replicas acknowledge (or, under auto, the master has no live replica left)'),
    sessionTimeoutMs: z.number().int().min(6000).default(30_000).describe('Kafka consumer group session timeout'),
    conflicts: z
      .enum(['off', 'report', 'lww'])
      .default('off')
      .describe('conflict detection (docs/sink.md "Conflicts"): report follows this DC\'s own changes topic, judges every applied peer write against the local writes it had not seen, and writes each conflict to tandem.<dc>.conflicts (applying in arrival order, as off does); lww reports the same and, of two concurrent overwrites of one key or hash field, keeps in both DCs the one with the later capture time (ties: the greater DC name), repairing the DC that applied the loser last (docs/sink.md "Last write wins"); off: no detection'),
    conflictDetection: z
      .object({
        lookbackMs: z
          .number().int().min(1000).max(7 * 24 * 3_600_000).default(300_000)
          .describe('how far back in its own topic the sink starts reading local writes, at start and after a rebalance; a local write older than that is past the window for the peer writes applied then'),
        maxBytes: z
          .number().int().min(1024 * 1024).default(64 * 1024 * 1024)
          .describe('memory for detection (estimated bytes): three quarters for the window of local writes, a quarter for applied peer writes waiting for their marker; the oldest go first'),
        maxValueBytes: z
          .number().int().min(16).max(1024 * 1024).default(1024)
          .describe('each argument of a command kept for a conflict record is cut to this many bytes (the record says so); the whole event stays in the changes topic at its address'),
        maxRepairBytes: z
          .number().int().min(1024).max(512 * 1024 * 1024).default(64 * 1024)
          .describe('sink.conflicts: lww: a local overwrite whose repair command (key, field, value) is at most this many bytes is kept whole in the window, counted in maxBytes; a conflict that a larger one wins is reported and counted as too-large, not repaired'),
        maxRepairs: z
          .number().int().min(1).max(1_000_000).default(10_000)
          .describe('sink.conflicts: lww: repairs decided and not ended at once; past it a conflict is counted as failed, not repaired'),
      })
      .strict()
      .default({})
      .describe('bounds of conflict detection when sink.conflicts is report or lww'),
    groupId: z
      .string().min(1).optional()
      .describe('consumer group id; default tandem-sink-<dc>. Change it only to replay from scratch into another cluster'),
  })
  .strict();

export const sinkConfigSchema = baseConfigSchema
  .extend({ sink: sinkSectionSchema })
  .strict()
  .superRefine((cfg, ctx) => {
    cfg.sink.peers.forEach((peer, i) => {
      if (peer === cfg.dc) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['sink', 'peers', i], message: `a sink never consumes its own DC (${peer}): its events are local writes` });
      }
      if (cfg.sink.peers.indexOf(peer) !== i) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['sink', 'peers', i], message: `peer ${peer} is listed twice` });
      }
    });
    if (cfg.sink.retryMaxBackoffMs < cfg.sink.retryBackoffMs) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['sink', 'retryMaxBackoffMs'], message: 'must be >= sink.retryBackoffMs' });
    }
  });

export type SinkConfig = z.infer<typeof sinkConfigSchema>;
export type SinkSection = SinkConfig['sink'];
export type SnapshotPolicy = SinkSection['snapshotPolicy'];
