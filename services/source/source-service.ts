import type { RedisOptions } from 'ioredis';
import { connectNode, parseSeeds, redisOptionsOf } from '../shared/redis-connect';
import type { Registry } from 'prom-client';
import type { Kafka } from 'kafkajs';
import { TandemError } from '../shared/errors';
import { createKafka, kafkaConnectError, topicsOf } from '../shared/kafka-client';
import type { Logger } from '../shared/logger';
import { changesMaxMessageBytes, changesPartitions } from '../shared/topics';
import { CommandTable } from '../commands/command-table';
import { EventBuilder } from './commands/event-builder';
import { SlotVectors } from './commands/slot-vectors';
import { readVectorPrime } from './replication/vector-primer';
import { OncePerClusterFilter } from './commands/once-per-cluster';
import type { SourceConfig } from './config';
import { loadCheckpointTopic, parseReplIds } from '../shared/checkpoint';
import { ChangePublisher, RECORD_BATCH_OVERHEAD } from './kafka/publisher';
import { LinkRunner } from './link-runner';
import { sourceMetrics, type SourceMetrics } from './metrics';
import type { Shard } from '../shared/topology/shard';
import { TopologyTracker, type TopologyView } from './topology/topology-tracker';
import { MigrationGuard } from './migration/migration-guard';

/** A chunk event's bytes besides its payload slice: key, fields, headers (keys themselves are rarely over a few KiB). */
const CHUNK_EVENT_OVERHEAD = 64 * 1024;

/**
 * The source connector of one DC: one replica link per master of the local
 * cluster, one transactional publisher into `tandem.<dc>.changes`. The
 * masters are followed while the source runs (topology-tracker.ts): a master
 * added to the cluster gets a link within `topologyRefreshMs`, and the link
 * of a master removed from it ends and retires its checkpoint.
 *
 * Start order matters: the producer connects first, which fences any older
 * source with the same transactional id and aborts its open transaction; only
 * then are the checkpoints read, so they are final.
 */
/** Wait before a failed marker read (vector prime) is tried again. */
const PRIME_RETRY_MS = 5000;

export class SourceService {
  private publisher: ChangePublisher | undefined;
  private runners: LinkRunner[] = [];
  private runs: Promise<void>[] = [];
  private tracker: TopologyTracker | undefined;
  private guard: MigrationGuard | undefined;
  private makeRunner: ((shard: Shard) => LinkRunner) | undefined;
  private fail: (err: Error) => void = () => undefined;
  private stopping = false;
  private redisOptions: RedisOptions = {};
  /** The first links are started; later ones are news for the log. */
  private linked = false;
  readonly metrics: SourceMetrics;
  private failure: Error | undefined;

  constructor(
    private readonly config: SourceConfig,
    private readonly log: Logger,
    registry: Registry,
    private readonly listeningPort: number,
  ) {
    this.metrics = sourceMetrics(registry);
  }

  /**
   * Ready: every link streams, Kafka takes our commits, and every link has a
   * checkpoint committed under its current replid, so a restart continues
   * (+CONTINUE) instead of syncing again.
   */
  get ready(): boolean {
    const p = this.publisher;
    if (!p || p.commitFailures > 0 || this.runners.length === 0) return false;
    return this.runners.every((r) => r.streaming && r.checkpointKey !== undefined && p.hasCommittedCheckpoint(r.checkpointKey));
  }

  get linkStates(): Record<string, string> {
    return {
      ...Object.fromEntries(this.runners.map((r) => [r.name, r.state])),
      kafka: this.publisher?.commitFailures ? `${this.publisher.commitFailures} failed commits` : this.publisher?.lastCommitAt ? 'committing' : 'no commit yet',
    };
  }

  /** Resolves once every link runs; `done` settles when the service ends (rejects on a fatal error). */
  async start(): Promise<{ done: Promise<void> }> {
    const { config, log } = this;
    const kafka = createKafka(config.kafka, `source-${config.dc}`, log.child({ module: 'kafka' }));
    const admin = kafka.admin();
    await admin.connect().catch((err: unknown) => {
      throw kafkaConnectError(config.kafka, err);
    });
    let partitions: number;
    let maxMessageBytes: number;
    try {
      partitions = await changesPartitions(admin, config.dc);
      maxMessageBytes = await changesMaxMessageBytes(admin, config.dc, (msg) => log.warn(msg));
    } finally {
      await admin.disconnect();
    }
    // A big key's chunk events must fit the topic, or the first big key of a full sync would stop the source.
    if (config.source.maxEventPayloadBytes + CHUNK_EVENT_OVERHEAD > maxMessageBytes - RECORD_BATCH_OVERHEAD) {
      throw new TandemError(
        'CONFIG_INVALID',
        `source.maxEventPayloadBytes (${config.source.maxEventPayloadBytes}) does not fit ${topicsOf(config.dc).changes}, whose max.message.bytes is ${maxMessageBytes}: ` +
          `lower source.maxEventPayloadBytes below ${maxMessageBytes - RECORD_BATCH_OVERHEAD - CHUNK_EVENT_OVERHEAD}, or raise the topic's max.message.bytes`,
      );
    }

    const m = this.metrics;
    m.bufferLimit.set(config.source.maxBufferedBytes);
    this.publisher = new ChangePublisher({
      kafka,
      dc: config.dc,
      partitions,
      transactionalId: `tandem-source-${config.dc}`,
      log: log.child({ module: 'publisher' }),
      commitIntervalMs: config.source.commitIntervalMs,
      lingerMs: config.source.lingerMs,
      maxBufferedBytes: config.source.maxBufferedBytes,
      maxEventsPerRecord: config.source.maxEventsPerRecord,
      maxRecordBytes: config.source.maxRecordBytes,
      maxMessageBytes,
      onSkipped: (event) => m.commandsDropped.inc({ reason: 'too-large-other-origin' }, Math.max(1, event.commands.length)),
      onCommit: ({ ms, records, eventsByKind }) => {
        m.commits.inc();
        m.recordsPublished.inc(records);
        m.commitSeconds.observe(ms / 1000);
        for (const [kind, n] of Object.entries(eventsByKind)) m.eventsPublished.inc({ kind }, n);
        m.bufferedBytes.set(this.publisher?.bufferedBytes ?? 0);
      },
      onCommitError: () => m.commitFailures.inc(),
      onUncertainCommit: (outcome) => m.uncertainCommits.inc({ outcome }),
    });
    await this.publisher.start();
    const { checkpoints, txSeqs } = await loadCheckpointTopic(kafka, config.dc);
    const stale = [...checkpoints.values()].find((c) => c.partitions !== partitions);
    if (stale) {
      throw new TandemError(
        'TOPIC_MISMATCH',
        `tandem.${config.dc}.changes has ${partitions} partitions but checkpoint ${stale.replid} was written with ${stale.partitions}; ` +
          'someone changed the partition count, which splits slot histories. Restore the old count or re-seed the DC.',
      );
    }
    this.publisher.knowCommitted(checkpoints, txSeqs.get(`tandem-source-${config.dc}`) ?? 0);
    log.info({ partitions, checkpoints: checkpoints.size }, 'publisher ready; checkpoints loaded');

    const seeds = parseSeeds(config.redis.nodes);
    const redisOptions = redisOptionsOf(config.redis);
    this.redisOptions = redisOptions;
    const tracker = new TopologyTracker({
      seeds,
      redisOptions,
      refreshMs: config.source.topologyRefreshMs,
      log: log.child({ module: 'topology' }),
    });
    this.tracker = tracker;
    const view = await tracker.start();
    const firstMasters = view.shards.filter((s) => s.slots.length > 0);
    if (firstMasters.length === 0) throw new TandemError('REDIS_UNAVAILABLE', `the cluster at ${config.redis.nodes.join(',')} has no master serving slots`);
    const commands = await readCommandTable(firstMasters[0].master, redisOptions);

    const vectors = new SlotVectors();
    const builder = new EventBuilder({
      localDc: config.dc,
      commands,
      vectors,
      onPrimeNeeded: (nodeId) => void this.primeVectors(kafka, vectors, nodeId),
      publish: config.source.publish,
      onWarning: (w) => {
        m.anomalies.inc({ code: w.code });
        log.warn({ code: w.code, command: w.command }, w.message);
      },
    });
    const oncePerCluster = new OncePerClusterFilter();
    this.guard = new MigrationGuard({
      tracker,
      redisOptions,
      log: log.child({ module: 'migration' }),
      links: () => this.runners,
      waitMs: config.source.migrationOrderWaitMs,
      onBarrier: (result) => m.orderBarriers.inc({ result }),
    });
    const guard = this.guard;
    this.makeRunner = (shard) =>
      new LinkRunner({
        dc: config.dc,
        shard,
        seeds,
        redisOptions,
        username: config.redis.username,
        password: redisOptions.password,
        tls: redisOptions.tls,
        listeningPort: this.listeningPort,
        partitions,
        checkpoints,
        builder,
        oncePerCluster,
        publisher: this.publisher!,
        metrics: m,
        log: log.child({ module: 'link' }),
        maxEventPayloadBytes: config.source.maxEventPayloadBytes,
        maxFailures: config.source.maxLinkFailures,
        tracker,
        guard,
        followedElsewhere: (id, self) => this.runners.some((r) => r !== self && r.follows(id)),
      });
    const failed = new Promise<never>((_, reject) => {
      this.fail = reject;
    });
    failed.catch(() => undefined);
    await this.reconcileNow(view);
    this.linked = true;
    log.info({ links: this.runners.map((r) => r.name) }, `started ${this.runners.length} replica links`);
    // From now on every topology read may add links.
    tracker.onRefresh = (v) => this.reconcile(v);
    // The builder counts what the policy table keeps out of the topic; export the growth.
    const notPublished = { 'publish-disabled': 0, 'never-replicated': 0 };
    const syncBuilderCounters = () => {
      const now = { 'publish-disabled': builder.counters.publishDropped, 'never-replicated': builder.counters.neverReplicated };
      for (const reason of Object.keys(now) as (keyof typeof now)[]) {
        if (now[reason] > notPublished[reason]) m.commandsDropped.inc({ reason }, now[reason] - notPublished[reason]);
        notPublished[reason] = now[reason];
      }
    };
    const publisherWatch = new Promise<void>((_, reject) => {
      const t = setInterval(() => {
        syncBuilderCounters();
        m.stampKnownSlots.set(vectors.knownSlots);
        m.bufferedBytes.set(this.publisher?.bufferedBytes ?? 0);
        const f = this.publisher?.failure;
        if (f && f.code !== 'INTERNAL') {
          clearInterval(t);
          reject(f);
        }
      }, 500);
      t.unref();
    });
    const stopped = new Promise<void>((resolve) => {
      this.onStopped = resolve;
    });
    const done = Promise.race([stopped, failed, publisherWatch]);
    return { done };
  }

  private onStopped: () => void = () => undefined;
  private primeChain: Promise<unknown> = Promise.resolve();

  /**
   * Reads a master's markers so its slots' events get stamps again
   * (vector-primer.ts): at a link's first item, and after a full resync. The
   * peers are the DCs with a changes topic; a DC added later is stamped from
   * the next prime on (a source restart, or a full resync). A failure is
   * retried with the node's next item after PRIME_RETRY_MS; meanwhile stamps
   * stay unknown.
   */
  private async primeVectors(kafka: Kafka, vectors: SlotVectors, nodeId: string): Promise<void> {
    const { config, log, metrics: m } = this;
    try {
      const node = this.tracker?.view?.nodes.get(nodeId);
      if (node === undefined) throw new TandemError('REDIS_UNAVAILABLE', `node ${nodeId} is not in the topology`);
      const admin = kafka.admin();
      let topics: string[];
      await admin.connect();
      try {
        topics = await admin.listTopics();
      } finally {
        await admin.disconnect();
      }
      const peers = topics.map((t) => /^tandem\.([A-Za-z0-9_-]{1,64})\.changes$/.exec(t)?.[1]).filter((dc): dc is string => dc !== undefined && dc !== config.dc).sort();
      // One master at a time: a prime is a few thousand GETs per peer, and the links start together.
      const run = this.primeChain.then(() => readVectorPrime(node, peers, this.redisOptions));
      this.primeChain = run.catch(() => undefined);
      const prime = await run;
      vectors.primed(prime);
      m.vectorPrimes.inc({ result: 'ok' });
      log.info({ node: nodeId, slots: prime.slots.length, peers, offset: prime.offset }, 'read the markers of a master: its local events are stamped from the offset on');
    } catch (err) {
      m.vectorPrimes.inc({ result: 'failed' });
      log.warn({ node: nodeId, err }, `cannot read the markers of a master; its events stay stamped unknown, retry in ${PRIME_RETRY_MS} ms`);
      setTimeout(() => vectors.primeFailed(nodeId), PRIME_RETRY_MS).unref();
    }
  }

  /**
   * One link per master the topology shows, with or without slots: a master
   * just added gets its link before slots move to it, so the keys it imports
   * arrive as RESTORE-ASKING (migration traffic) and not in its RDB, whose
   * snapshot events could overwrite newer writes in the peers. A node that
   * joins as a replica shows as a slotless master for a moment; when it
   * becomes a replica it drops our link (a full sync from its master
   * disconnects sub-replicas), and the link, which refuses to read a
   * replica, ends as a duplicate. No link is started, either, when a link
   * already follows a node of its shard, or when the master carries on the
   * replication history of a link's master (its replid or replid2 is that
   * link's replid): that is a promoted replica, which the link follows itself
   * with +CONTINUE (Redis 7.0 lists a failed master in a shard of its own, so
   * shard membership alone does not tell).
   */
  private reconcile(view: TopologyView): void {
    this.reconciling = this.reconciling.then(() => this.reconcileNow(view)).catch((err: unknown) => {
      this.log.warn({ err }, 'cannot check the cluster\'s masters against the links; trying again at the next topology read');
    });
  }

  private reconciling: Promise<void> = Promise.resolve();

  private async reconcileNow(view: TopologyView): Promise<void> {
    if (this.stopping || this.makeRunner === undefined) return;
    for (const r of this.runners) r.noteTopology(view);
    for (const shard of view.shards) {
      if (shard.master.health !== 'online') continue;
      const members = [shard.master, ...shard.replicas];
      if (this.runners.some((r) => members.some((n) => r.follows(n.id)))) continue;
      if (this.runners.length > 0 && (await this.continuesALink(shard))) continue;
      if (this.stopping) return;
      const runner = this.makeRunner(shard);
      if (this.linked) this.log.info({ link: runner.name, nodeId: shard.master.id, slots: shard.slots.length }, 'new master in the cluster; starting its replica link');
      this.startRunner(runner);
    }
    this.metrics.links.set(this.runners.length);
  }

  private async continuesALink(shard: Shard): Promise<boolean> {
    const replids = new Set(this.runners.map((r) => r.replid).filter((id): id is string => id !== undefined));
    const r = await connectNode(shard.master.host, shard.master.port, this.redisOptions, 'replication');
    try {
      const ids = parseReplIds(await r.info('replication'));
      return replids.has(ids.replid) || replids.has(ids.replid2);
    } finally {
      r.disconnect();
    }
  }

  private startRunner(runner: LinkRunner): void {
    this.runners.push(runner);
    const run = runner.run().then(
      (end) => {
        this.runners = this.runners.filter((r) => r !== runner);
        this.metrics.links.set(this.runners.length);
        if (end === 'stopped') return;
        this.metrics.linksEnded.inc({ reason: end });
        // The history it read ends here (a removed master, or a node that joined as a master and turned
        // replica): its checkpoint would only ever match nothing, unless another link writes the same key.
        const key = runner.checkpointKey;
        if (key !== undefined && !this.runners.some((r) => r.checkpointKey === key)) this.publisher?.retireCheckpoint(key);
        this.log.warn({ link: runner.name, reason: end, checkpoint: runner.checkpointKey }, end === 'gone' ? 'replica link ended: its master left the cluster; checkpoint retired' : 'replica link ended: another link reads its master (its own checkpoint retired)');
        void runner.stop();
      },
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        this.failure ??= e;
        this.log.error({ link: runner.name, err }, 'replica link stopped for good');
        this.fail(e);
      },
    );
    this.runs.push(run);
  }

  /** Graceful stop: links stop reading, buffered events are committed, then Kafka closes. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.tracker?.stop();
    await Promise.all(this.runners.map((r) => r.stop()));
    await Promise.allSettled(this.runs);
    this.guard?.close();
    await this.publisher?.stop();
    this.onStopped();
  }
}

async function readCommandTable(master: { host: string; port: number }, options: RedisOptions): Promise<CommandTable> {
  const r = await connectNode(master.host, master.port, options, 'replication');
  try {
    return CommandTable.fromCommandReply(await r.call('COMMAND'));
  } catch (err) {
    throw TandemError.wrap('REDIS_UNAVAILABLE', `cannot read the COMMAND table from ${master.host}:${master.port}`, err);
  } finally {
    r.disconnect();
  }
}
