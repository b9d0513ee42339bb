import type { Registry } from 'prom-client';
import { TandemError, errorMessage } from '../shared/errors';
import { createKafka, kafkaConnectError, topicsOf } from '../shared/kafka-client';
import { parseSeeds, redisOptionsOf } from '../shared/redis-connect';
import { isAuthReply } from '../shared/redis-replies';
import type { Logger } from '../shared/logger';
import { LogSampler } from '../shared/log-sampler';
import { changesPartitions } from '../shared/topics';
import { loadCheckpoints } from '../shared/checkpoint';
import { ClusterRouter } from './apply/cluster-router';
import { ControlApplier } from './apply/control-applier';
import { MarkerCache } from './apply/marker-cache';
import { TargetBehindError } from './apply/marker-guard';
import { RestoreAssembler, type DiscardedSequence } from './apply/restore-assembler';
import { Writer } from './apply/writer';
import { BatchProcessor } from './batch-processor';
import type { SinkConfig } from './config';
import { SinkConsumer } from './kafka/consumer';
import { DlqProducer } from './kafka/dlq';
import { sinkMetrics, type SinkMetrics } from './metrics';
import { ConflictHook } from './conflicts/conflict-hook';
import { CHECK_RESULTS, ConflictDetector, REPAIR_RESULTS, type CheckResult, type LwwOptions } from './conflicts/conflict-detector';
import { LwwRepairer } from './apply/lww-repairer';
import { parseMarkerValue } from '../shared/marker';
import { SLOT_COUNT, slotPartition } from '../shared/slot';
import { topicDcOf } from './filter';
import { conflictRecordOf } from './conflicts/conflict-report';
import { ownPartitionsFor } from './conflicts/own-partitions';
import { ConflictProducer } from './kafka/conflict-producer';
import { OwnTopicTail } from './kafka/own-topic-tail';

/**
 * The sink of one DC: one consumer group over every peer's changes topic,
 * applying to the local (target) cluster. Start-up checks every topic first,
 * so that a misconfiguration stops it with one clear message.
 */
export class SinkService {
  readonly metrics: SinkMetrics;
  private router: ClusterRouter | undefined;
  private consumer: SinkConsumer | undefined;
  private dlq: DlqProducer | undefined;
  private conflictProducer: ConflictProducer | undefined;
  private tail: OwnTopicTail | undefined;
  private repairer: LwwRepairer | undefined;
  /** sink.conflicts: lww: the current assignment, and the last offset processed per `${topic}/${partition}` (the tail's gate) */
  private assignment: Record<string, number[]> = {};
  private readonly processed = new Map<string, bigint>();
  /** partitions of each peer topic, and of the own topic (read at start) */
  private readonly partitionCounts = new Map<string, number>();
  private targetOk = false;
  private probe: NodeJS.Timeout | undefined;
  private stopping = false;
  private failed: ((err: Error) => void) | undefined;

  constructor(
    private readonly config: SinkConfig,
    private readonly log: Logger,
    registry: Registry,
  ) {
    this.metrics = sinkMetrics(registry);
  }

  get ready(): boolean {
    return !this.stopping && (this.consumer?.ready ?? false) && this.targetOk;
  }

  get readiness(): Record<string, unknown> {
    return { joined: this.consumer?.ready ?? false, assignment: this.consumer?.assigned ?? {}, targetReachable: this.targetOk };
  }

  /** Resolves once consuming; `done` rejects on a fatal error and resolves after stop(). */
  async start(): Promise<{ done: Promise<void> }> {
    const { config, log } = this;
    const s = config.sink;
    const kafka = createKafka(config.kafka, `sink-${config.dc}`, log.child({ module: 'kafka' }));
    await this.checkTopics(kafka);

    this.router = new ClusterRouter(parseSeeds(config.redis.nodes), redisOptionsOf(config.redis), log.child({ module: 'router' }));
    await this.router.refresh().catch((err: unknown) => {
      const text = errorMessage(err);
      if (isAuthReply(text)) {
        // The same credentials fail on every node and retrying never helps: say which to check.
        throw new TandemError(
          'REDIS_AUTH',
          `authentication to the target cluster at ${config.redis.nodes.join(',')} as ${config.redis.username ?? 'default'} failed: ${text} (check redis.username and redis.password, and the ACL in docs/security.md)`,
          { cause: err },
        );
      }
      throw TandemError.wrap('REDIS_UNAVAILABLE', `cannot reach the target cluster at ${config.redis.nodes.join(',')}`, err);
    });
    this.targetOk = true;

    const m = this.metrics;
    // The cache reads through the writer (which follows ASK), and the writer updates the cache.
    const holder: { writer?: Writer } = {};
    const markers = new MarkerCache((slot, origin) => holder.writer!.readMarker(slot, origin));
    const writer = new Writer({
      router: this.router,
      markers,
      retries: s.applyRetries,
      backoffMs: s.retryBackoffMs,
      maxBackoffMs: s.retryMaxBackoffMs,
      log: log.child({ module: 'writer' }),
      guard: true,
      durability: { replicas: s.waitReplicas, timeoutMs: s.waitTimeoutMs },
      onGuardAbort: () => m.guardAborts.inc(),
      onMarkerLost: () => m.markersLost.inc(),
      onReplicaWait: (result) => m.replicaWaits.inc({ result }),
      onRetry: (reason) => m.applyRetries.inc({ reason }),
      onTargetFull: (delta) => m.targetFull.inc(delta),
      stopping: () => this.stopping,
    });
    holder.writer = writer;
    this.dlq = new DlqProducer(kafka, config.dc, log.child({ module: 'dlq' }));
    await this.dlq.start();
    const detector = s.conflicts !== 'off' ? await this.startConflictDetection(kafka, writer) : undefined;
    const applyLog = log.child({ module: 'apply' });
    const assemblers = new Map(
      s.peers.map((p) => {
        const topic = topicsOf(p).changes;
        return [topic, new RestoreAssembler(s.maxRestoreBytes, (d) => onDiscardedSequence(topic, d, m, applyLog))] as const;
      }),
    );
    const processor = new BatchProcessor({
      localDc: config.dc,
      sink: s,
      writer,
      control: new ControlApplier({ router: this.router, retries: s.applyRetries, backoffMs: s.retryBackoffMs, log: log.child({ module: 'control' }) }),
      dlq: this.dlq,
      assemblers,
      metrics: m,
      log: applyLog,
      hooks: detector !== undefined && s.conflicts !== 'off' ? [new ConflictHook(detector, s.conflicts)] : [],
      onProcessed: (topic, partition, lastOffset) => this.processed.set(`${topic}/${partition}`, lastOffset),
    });

    const done = new Promise<void>((resolve, reject) => {
      this.failed = (err) => {
        if (this.stopping) return;
        reject(err);
      };
      this.resolveDone = resolve;
    });
    let previous: Record<string, number[]> = {};
    this.consumer = new SinkConsumer({
      kafka,
      groupId: s.groupId ?? `tandem-sink-${config.dc}`,
      topics: s.peers.map((p) => topicsOf(p).changes),
      partitionsConsumedConcurrently: s.partitionsConsumedConcurrently,
      fetchMaxBytes: s.fetchMaxBytes,
      fetchMaxBytesPerPartition: s.fetchMaxBytesPerPartition,
      fetchMaxWaitMs: s.fetchMaxWaitMs,
      offsetCommitIntervalMs: s.offsetCommitIntervalMs,
      sessionTimeoutMs: s.sessionTimeoutMs,
      log: log.child({ module: 'consumer' }),
      handler: async (batch) => {
        try {
          return await processor.process(batch);
        } catch (err) {
          if (err instanceof TargetBehindError) {
            // The target lost writes in a failover: read the partition again from the slot's marker, commit nothing now.
            m.rewinds.inc({ topic: batch.topic });
            log.warn({ topic: batch.topic, partition: batch.partition, offset: String(err.offset), err }, 'target lost applied writes (failover); rewinding the partition to re-apply them');
            assemblers.get(batch.topic)?.retainPartitions((p) => p !== batch.partition);
            this.consumer?.seek(batch.topic, batch.partition, err.offset);
            return undefined;
          }
          // A batch that cannot be applied within the retry bounds stops the sink, uncommitted: a restart resumes from it.
          log.error({ topic: batch.topic, partition: batch.partition, err }, 'cannot apply batch');
          this.failed?.(err instanceof Error ? err : new Error(String(err)));
          throw err;
        }
      },
      onAssignment: (assignment) => {
        // Another sink may have applied these partitions meanwhile: forget every cached marker, and what this one applied.
        markers.clear();
        writer.forgetApplied();
        for (const [topic, assembler] of assemblers) {
          const owned = new Set(assignment[topic] ?? []);
          const dropped = assembler.retainPartitions((p) => owned.has(p));
          if (dropped > 0) log.info({ topic, dropped }, 'dropped partial big keys of revoked partitions (their new owner re-reads them)');
        }
        for (const topic of assemblers.keys()) m.assignedPartitions.set({ topic }, (assignment[topic] ?? []).length);
        // Partitions now owned by another sink: their lag and offset are that sink's to report.
        // A stale series here would show lag that no one is working off (and fire alerts).
        for (const [topic, partitions] of Object.entries(previous)) {
          const owned = new Set(assignment[topic] ?? []);
          for (const p of partitions) {
            if (owned.has(p)) continue;
            m.lag.remove({ topic, partition: String(p) });
            m.committedOffset.remove({ topic, partition: String(p) });
          }
        }
        previous = assignment;
        this.assignment = assignment;
        // lww's restart gate measures progress since this assignment: the consumer resumes from the committed offsets.
        this.processed.clear();
        // Conflict detection follows the own partitions of the slots now assigned, from an empty window.
        this.tail?.follow(ownPartitionsFor(assignment, this.partitionCounts, this.partitionCounts.get(topicsOf(config.dc).changes) ?? 0));
      },
      onCommit: (topic, partition, offset) => {
        // Commits complete after the next fetch started; one may land after its partition moved away.
        if (previous[topic]?.includes(partition)) m.committedOffset.set({ topic, partition: String(partition) }, Number(offset));
      },
      onFatal: (err) => this.failed?.(TandemError.wrap('KAFKA_UNAVAILABLE', 'the Kafka consumer stopped', err)),
    });
    await this.consumer.start();
    this.probe = setInterval(() => {
      void this.router?.ping().then((ok) => {
        this.targetOk = ok;
      });
    }, 5000);
    this.probe.unref();
    log.info({ peers: s.peers, topics: s.peers.map((p) => topicsOf(p).changes), snapshotPolicy: s.snapshotPolicy, waitReplicas: s.waitReplicas, waitTimeoutMs: s.waitTimeoutMs, conflicts: s.conflicts }, 'sink started');
    return { done };
  }

  private resolveDone: (() => void) | undefined;

  /**
   * sink.conflicts: report (docs/sink.md "Conflicts"): the detector, fed by
   * the batch processor (peer writes applied) and by the tail of the own
   * topic (local writes and the markers of the applies); each conflict goes
   * to tandem.<dc>.conflicts. Checks are counted per batch of the own topic.
   */
  private async startConflictDetection(kafka: ReturnType<typeof createKafka>, writer: Writer): Promise<ConflictDetector> {
    const { config, log } = this;
    const m = this.metrics;
    const o = config.sink.conflictDetection;
    const lww = config.sink.conflicts === 'lww' ? this.lwwOptions(o) : undefined;
    const producer = new ConflictProducer(kafka, config.dc, log.child({ module: 'conflicts' }), (reason, n) => m.conflictRecordsLost.inc({ reason }, n));
    await producer.start();
    this.conflictProducer = producer;
    const checks = new Map<string, number>();
    const detector = new ConflictDetector({
      localDc: config.dc,
      maxWindowBytes: Math.floor((o.maxBytes * 3) / 4),
      maxPendingBytes: Math.floor(o.maxBytes / 4),
      maxValueBytes: o.maxValueBytes,
      onConflict: (c) => {
        m.conflicts.inc({ peer: c.peer.origin });
        producer.report(conflictRecordOf(c, config.dc), c.key);
      },
      onCheck: (peer: string, result: CheckResult) => {
        const id = `${peer}\n${result}`;
        checks.set(id, (checks.get(id) ?? 0) + 1);
      },
      lww,
    });
    if (lww !== undefined) {
      const s = config.sink;
      const repairer = new LwwRepairer({
        router: this.router!,
        durability: { replicas: s.waitReplicas, timeoutMs: s.waitTimeoutMs },
        prepare: (id) => detector.prepareRepair(id),
        done: (id, ran) => detector.repairDone(id, ran),
        onResult: (peer, result) => m.conflictRepairs.inc({ peer, result }),
        log: log.child({ module: 'lww' }),
      });
      this.repairer = repairer;
      lww.onRepair = (id) => repairer.submit(id);
      for (const peer of config.sink.peers) for (const result of REPAIR_RESULTS) m.conflictRepairs.inc({ peer, result }, 0);
    }
    // Every series from the start, so that rate() and the alert see the first conflict.
    for (const peer of config.sink.peers) {
      m.conflicts.inc({ peer }, 0);
      for (const result of CHECK_RESULTS) m.conflictChecks.inc({ peer, result }, 0);
    }
    const flush = () => {
      for (const [id, n] of checks) {
        const [peer, result] = id.split('\n');
        m.conflictChecks.inc({ peer, result }, n);
      }
      checks.clear();
      m.conflictWindowBytes.set({ part: 'window' }, detector.bytes);
      m.conflictWindowBytes.set({ part: 'pending' }, detector.pendingBytes);
      m.conflictWindowKeys.set(detector.targets);
    };
    this.tail = new OwnTopicTail({
      kafka,
      dc: config.dc,
      lookbackMs: o.lookbackMs,
      detector,
      log: log.child({ module: 'conflicts' }),
      onBatch: flush,
      onRestart: flush,
      lww: lww === undefined ? undefined : {
        keepPending: (origin, partition) => this.assignment[topicsOf(origin).changes]?.includes(partition) ?? false,
        gate: (signal) => this.lwwGate(kafka, writer, signal),
      },
    });
    return detector;
  }

  /** sink.conflicts: lww: the detector's repair options; onRepair is set once the repairer exists. */
  private lwwOptions(o: SinkConfig['sink']['conflictDetection']): LwwOptions {
    const log = this.log.child({ module: 'lww' });
    const sampler = new LogSampler();
    return {
      maxRepairBytes: o.maxRepairBytes,
      maxRepairs: o.maxRepairs,
      maxPendingAgeMs: o.lookbackMs,
      onRepair: () => undefined,
      onResult: (peer, result, detail) => {
        this.metrics.conflictRepairs.inc({ peer, result });
        if (detail === undefined) return;
        if (result === 'redone') {
          log.info({ peer, ...printable(detail) }, 'lww repair overwrote a later local write of the same value (read back in the own topic); re-making that write');
          return;
        }
        // Never silent: a conflict left unrepaired is logged (sampled) with its key, and counted.
        sampler.sample((suppressed) => log.warn({ peer, result, ...printable(detail), suppressed }, 'lww conflict not repaired; the two DCs may differ on this key (tandem conflicts lists it, tandem verify finds it)'));
      },
    };
  }

  /**
   * sink.conflicts: lww, before the own topic is read (at a start, and after
   * each rebalance or failure of the tail): the peer writes applied before a
   * crash that were not judged yet lie between the committed offset (held
   * back for them) and the slots' markers; the sink skips them as applied
   * and expects them again. The tail reads only once the processing of each
   * assigned partition has passed the highest marker of its slots, so that
   * their markers are read after they are expected.
   */
  private async lwwGate(kafka: ReturnType<typeof createKafka>, writer: Writer, signal: AbortSignal): Promise<void> {
    const assignment = this.assignment;
    const targets = new Map<string, bigint>();
    for (const [topic, partitions] of Object.entries(assignment)) {
      const peer = topicDcOf(topic);
      const count = this.partitionCounts.get(topic);
      if (peer === undefined || count === undefined || partitions.length === 0) continue;
      const wanted = new Set(partitions);
      const slots: number[] = [];
      for (let slot = 0; slot < SLOT_COUNT; slot++) if (wanted.has(slotPartition(slot, count))) slots.push(slot);
      for (let i = 0; i < slots.length && !signal.aborted; i += 512) {
        const values = await Promise.all(slots.slice(i, i + 512).map((slot) => writer.readMarker(slot, peer)));
        for (const v of values) {
          const marker = v === null ? undefined : parseMarkerValue(v);
          if (marker === undefined) continue;
          const id = `${topic}/${marker.partition}`;
          if ((targets.get(id) ?? -1n) < marker.offset) targets.set(id, marker.offset);
        }
      }
    }
    if (targets.size === 0 || signal.aborted) return;
    const committed = new Map<string, bigint>();
    const admin = kafka.admin();
    await admin.connect();
    try {
      const groupId = this.config.sink.groupId ?? `tandem-sink-${this.config.dc}`;
      for (const t of await admin.fetchOffsets({ groupId, topics: Object.keys(assignment) })) {
        for (const p of t.partitions) if (BigInt(p.offset) >= 0n) committed.set(`${t.topic}/${p.partition}`, BigInt(p.offset));
      }
      // A marker past the end of its partition (a topic re-created under the same name) is never reached: wait only for what exists.
      for (const topic of Object.keys(assignment)) {
        for (const p of await admin.fetchTopicOffsets(topic)) {
          const id = `${topic}/${p.partition}`;
          const end = BigInt(p.high) - 1n;
          const target = targets.get(id);
          if (target !== undefined && target > end) targets.set(id, end);
        }
      }
    } finally {
      await admin.disconnect();
    }
    const started = Date.now();
    let logged = started;
    for (;;) {
      const waiting = [...targets].filter(([id, offset]) => (this.processed.get(id) ?? -1n) < offset && (committed.get(id) ?? 0n) <= offset);
      if (waiting.length === 0 || signal.aborted) return;
      if (Date.now() - logged > 10_000) {
        logged = Date.now();
        this.log.info({ partitions: waiting.map(([id]) => id), waitedMs: Date.now() - started }, 'lww: conflict detection waits until the peer writes applied before the restart are expected again');
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGTERM: stop fetching, finish the batch in flight (applied + committed), disconnect. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.probe);
    try {
      await this.consumer?.stop();
      this.tail?.stop();
      this.repairer?.stop();
      await this.dlq?.stop();
      await this.conflictProducer?.stop();
    } finally {
      this.router?.close();
      this.resolveDone?.();
    }
  }

  /**
   * Every peer topic must exist, and its partition count must match the one
   * its source recorded in its checkpoints (DESIGN §2): another count moves
   * slots between partitions and would break per-slot order and the markers.
   */
  private async checkTopics(kafka: ReturnType<typeof createKafka>): Promise<void> {
    const { config } = this;
    const admin = kafka.admin();
    await admin.connect().catch((err: unknown) => {
      throw kafkaConnectError(config.kafka, err);
    });
    try {
      const topics = await admin.listTopics();
      const dlq = topicsOf(config.dc).dlq;
      if (!topics.includes(dlq)) {
        throw new TandemError('TOPIC_MISMATCH', `topic ${dlq} (this sink's DLQ) does not exist; create it with \`tandem topics init --dc ${config.dc}\``);
      }
      if (config.sink.conflicts !== 'off') {
        const own = topicsOf(config.dc);
        if (!topics.includes(own.conflicts)) {
          throw new TandemError('TOPIC_MISMATCH', `topic ${own.conflicts} (where sink.conflicts: ${config.sink.conflicts} writes) does not exist; create it with \`tandem topics init --dc ${config.dc}\` (idempotent), or set sink.conflicts: off`);
        }
        // Detection reads the own topic, partitioned by slot like the peers' (conflicts/own-partitions.ts).
        this.partitionCounts.set(own.changes, await changesPartitions(admin, config.dc));
      }
      for (const peer of config.sink.peers) {
        const partitions = await changesPartitions(admin, peer);
        this.partitionCounts.set(topicsOf(peer).changes, partitions);
        const checkpoints = await loadCheckpoints(kafka, peer);
        const stale = [...checkpoints.values()].find((c) => c.partitions !== partitions);
        if (stale) {
          throw new TandemError(
            'TOPIC_MISMATCH',
            `${topicsOf(peer).changes} has ${partitions} partitions but source(${peer}) recorded ${stale.partitions}; ` +
              'a changed partition count splits slot histories. Restore the old count or re-seed the DC.',
          );
        }
        this.log.info({ peer, partitions, checkpoints: checkpoints.size }, 'peer topic checked');
      }
    } finally {
      await admin.disconnect();
    }
  }
}

/**
 * A big key's chunk sequence its RDB transfer left unfinished (a full sync
 * broken inside the key): never applied, and it no longer holds the
 * partition's commit back. The key itself comes with the retry's sequence,
 * when the retried RDB still has it.
 */
function onDiscardedSequence(topic: string, d: DiscardedSequence, m: SinkMetrics, log: Logger): void {
  m.restoreSequencesDiscarded.inc({ reason: d.reason });
  log.warn(
    {
      topic,
      partition: d.partition,
      key: d.key.toString('latin1').slice(0, 200),
      reason: d.reason,
      transfer: d.transfer ?? null,
      nodeId: d.nodeId,
      firstOffset: String(d.firstOffset),
      lastOffset: String(d.lastOffset),
      chunks: d.chunks,
      bytes: d.bytes,
      endedAt: `${d.endedBy.offset}:${d.endedBy.index}`,
      endedByKind: d.endedBy.kind,
      endedByTransfer: d.endedBy.transfer ?? null,
      endedByNode: d.endedBy.nodeId,
    },
    'discarded an unfinished big-key chunk sequence (its RDB transfer broke inside the key)',
  );
}

/** A repair's detail for a log line: keys and fields as text, cut. */
function printable(detail: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(detail)) out[k] = Buffer.isBuffer(v) ? v.toString('latin1').slice(0, 200) : v;
  return out;
}
