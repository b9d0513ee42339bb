import type { RedisOptions } from 'ioredis';
import { connectNode, parseSeeds, redisOptionsOf } from '../shared/redis-connect';
import type { Registry } from 'prom-client';
import { TandemError, errorMessage } from '../shared/errors';
import { createKafka, kafkaConnectError, topicsOf } from '../shared/kafka-client';
import type { Logger } from '../shared/logger';
import { changesMaxMessageBytes, changesPartitions } from '../shared/topics';
import { CommandTable } from '../commands/command-table';
import { EventBuilder } from './commands/event-builder';
import { OncePerClusterFilter } from './commands/once-per-cluster';
import type { SourceConfig } from './config';
import { loadCheckpoints } from '../shared/checkpoint';
import { ChangePublisher, RECORD_BATCH_OVERHEAD } from './kafka/publisher';
import { LinkRunner } from './link-runner';
import { sourceMetrics, type SourceMetrics } from './metrics';
import { readTopology } from './topology/cluster-topology';

/** A chunk event's bytes besides its payload slice: key, fields, headers (keys themselves are rarely over a few KiB). */
const CHUNK_EVENT_OVERHEAD = 64 * 1024;

/**
 * The source connector of one DC: one replica link per master of the local
 * cluster, one transactional publisher into `tandem.<dc>.changes`.
 *
 * Start order matters: the producer connects first, which fences any older
 * source with the same transactional id and aborts its open transaction; only
 * then are the checkpoints read, so they are final.
 */
export class SourceService {
  private publisher: ChangePublisher | undefined;
  private runners: LinkRunner[] = [];
  private runs: Promise<void>[] = [];
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
    });
    await this.publisher.start();
    const checkpoints = await loadCheckpoints(kafka, config.dc);
    const stale = [...checkpoints.values()].find((c) => c.partitions !== partitions);
    if (stale) {
      throw new TandemError(
        'TOPIC_MISMATCH',
        `tandem.${config.dc}.changes has ${partitions} partitions but checkpoint ${stale.replid} was written with ${stale.partitions}; ` +
          'someone changed the partition count, which splits slot histories. Restore the old count or re-seed the DC.',
      );
    }
    this.publisher.knowCommitted(checkpoints);
    log.info({ partitions, checkpoints: checkpoints.size }, 'publisher ready; checkpoints loaded');

    const seeds = parseSeeds(config.redis.nodes);
    const redisOptions = redisOptionsOf(config.redis);
    const shards = await readTopology(seeds, redisOptions);
    if (shards.length === 0) throw new TandemError('REDIS_UNAVAILABLE', `the cluster at ${config.redis.nodes.join(',')} has no master serving slots`);
    const commands = await readCommandTable(shards[0].master, redisOptions);

    const builder = new EventBuilder({
      localDc: config.dc,
      commands,
      publish: config.source.publish,
      onWarning: (w) => {
        m.anomalies.inc({ code: w.code });
        log.warn({ code: w.code, command: w.command }, w.message);
      },
    });
    const oncePerCluster = new OncePerClusterFilter();
    this.runners = shards.map(
      (shard) =>
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
        }),
    );
    log.info({ links: this.runners.map((r) => r.name) }, `starting ${this.runners.length} replica links`);
    this.runs = this.runners.map((r) =>
      r.run().catch((err: unknown) => {
        this.failure ??= err instanceof Error ? err : new Error(String(err));
        log.error({ link: r.name, err: errorMessage(err) }, 'replica link stopped for good');
        throw err;
      }),
    );
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
        m.bufferedBytes.set(this.publisher?.bufferedBytes ?? 0);
        const f = this.publisher?.failure;
        if (f && f.code !== 'INTERNAL') {
          clearInterval(t);
          reject(f);
        }
      }, 500);
      t.unref();
    });
    const done = Promise.race([Promise.all(this.runs).then(() => undefined), publisherWatch]);
    return { done };
  }

  /** Graceful stop: links stop reading, buffered events are committed, then Kafka closes. */
  async stop(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.stop()));
    await Promise.allSettled(this.runs);
    await this.publisher?.stop();
  }
}

async function readCommandTable(master: { host: string; port: number }, options: RedisOptions): Promise<CommandTable> {
  const r = await connectNode(master.host, master.port, options);
  try {
    return CommandTable.fromCommandReply(await r.call('COMMAND'));
  } catch (err) {
    throw TandemError.wrap('REDIS_UNAVAILABLE', `cannot read the COMMAND table from ${master.host}:${master.port}`, err, true);
  } finally {
    r.disconnect();
  }
}
