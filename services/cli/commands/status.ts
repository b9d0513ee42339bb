import { Command } from 'commander';
import { Kafka, type Admin } from 'kafkajs';
import { TandemError, errorMessage } from '../../shared/errors';
import { kafkaConfig, topicsOf, type KafkaSettings } from '../../shared/kafka-client';
import { loadCheckpoints } from '../../shared/checkpoint';
import { kafkaFromOptions, parseDc, parseDcList, addKafkaOptions } from '../options';
import { addTlsOptions, openRedisTarget, parseRedisUrl, redactUrls, tlsFilesOf, type OpenTarget, type TlsCliOptions } from '../redis-url';
import { linkRows, readMasters } from '../status/links';
import { peersFromTopics, readPartitionRows } from '../status/partitions';
import { scrape, type Sample } from '../status/prometheus';
import { renderStatus, type SinkView, type StatusReport } from '../status/render';

/**
 * `tandem status --dc <dc>`: a DC's replica links and its sink group's lag,
 * read only from what the services expose (the checkpoints topic, the group's
 * committed offsets, INFO replication, /metrics), so it runs from any machine
 * that reaches Kafka (and Redis, for the byte gap).
 */
interface StatusCliOptions extends TlsCliOptions {
  dc: string;
  brokers?: string;
  config?: string;
  redis?: string;
  redisPasswordEnv?: string;
  sourceMetrics?: string;
  sinkMetrics: string[];
  group?: string;
  peers?: string[];
  json?: boolean;
}

export function registerStatusCommand(program: Command): void {
  addKafkaOptions(addTlsOptions(program.command('status'), 'a rediss:// --redis')
    .description("a DC's replica links (offsets, byte gap, last full resync) and its sink group's lag per partition")
    .requiredOption('--dc <dc>', 'the DC to report on', parseDc))
    .option('--redis <url>', "the DC's cluster, redis[s]://[user[:password]@]host:port[,…]: adds each master's offset and the byte gap")
    .option('--redis-password-env <var>', 'take the Redis password from this environment variable')

    .option('--source-metrics <url>', "the source's metrics endpoint (host:port or URL): adds live link state and offset")
    .option('--sink-metrics <url>', "a sink's metrics endpoint; repeat for each sink instance: adds apply latency", (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--group <id>', 'the sink consumer group (default tandem-sink-<dc>)')
    .option('--peers <dcs>', 'peer DCs whose changes topics the sink reads (default: every tandem.*.changes but this DC\'s)', parseDcList)
    .option('--json', 'print one JSON object')
    .action(async (opts: StatusCliOptions) => {
      const target =
        opts.redis === undefined
          ? undefined
          : parseRedisUrl(opts.redis, { passwordEnv: opts.redisPasswordEnv, tls: tlsFilesOf(opts) });
      const settings = kafkaFromOptions(opts);
      const kafka = statusKafka(settings);
      const admin = kafka.admin();
      let redis: OpenTarget | undefined;
      const failures: string[] = [];
      try {
        await connectAdmin(admin, settings);
        const topicNames = await admin.listTopics();
        const own = topicsOf(opts.dc);
        if (!topicNames.includes(own.checkpoints)) {
          throw new TandemError('TOPIC_MISMATCH', `no topics for DC ${opts.dc}: ${own.checkpoints} does not exist (create them with \`tandem topics init --dc ${opts.dc}\`)`);
        }
        const group = opts.group ?? `tandem-sink-${opts.dc}`;
        const peers = opts.peers ?? peersFromTopics(topicNames, opts.dc);

        const checkpoints = await loadCheckpoints(kafka, opts.dc, 30_000);
        let masters: { address: string; info: string }[] | undefined;
        if (target) {
          redis = await openRedisTarget(target, `the cluster of ${opts.dc}`);
          masters = await readMasters(redis);
        }
        let sourceSamples: Sample[] | undefined;
        let source: StatusReport['source'];
        if (opts.sourceMetrics) {
          source = { url: opts.sourceMetrics };
          try {
            sourceSamples = await scrape(opts.sourceMetrics);
          } catch (err) {
            source.error = errorMessage(err);
            failures.push(source.error);
          }
        }
        const links = linkRows(checkpoints, masters, sourceSamples);

        const partitionRows = await readPartitionRows(kafka, admin, group, peers, topicNames);
        const sinks: SinkView[] = [];
        const latencyOf = new Map<string, number>();
        const sinkLagOf = new Map<string, number>();
        for (const url of opts.sinkMetrics) {
          const view: SinkView = { url, lag: {} };
          sinks.push(view);
          try {
            const samples = await scrape(url);
            // One series per source DC: the mean is over all of them.
            const total = (name: string) => samples.filter((s) => s.name === name).reduce((n, s) => n + s.value, 0);
            const sum = total('tandem_sink_apply_latency_seconds_sum');
            const count = total('tandem_sink_apply_latency_seconds_count');
            view.applied = count;
            if (count > 0) view.applyLatencyAvgMs = (sum / count) * 1000;
            for (const s of samples) {
              if (s.name !== 'tandem_sink_consumer_lag' && s.name !== 'tandem_sink_committed_offset') continue;
              const where = `${s.labels.topic}/${s.labels.partition}`;
              if (s.name === 'tandem_sink_consumer_lag') {
                view.lag[where] = s.value;
                sinkLagOf.set(where, s.value);
              }
              if (view.applyLatencyAvgMs !== undefined) latencyOf.set(where, view.applyLatencyAvgMs);
            }
          } catch (err) {
            view.error = errorMessage(err);
            failures.push(view.error);
          }
        }
        const partitions = partitionRows.map((p) => {
          const where = `${p.topic}/${p.partition}`;
          return { ...p, applyLatencyAvgMs: latencyOf.get(where), sinkLag: sinkLagOf.get(where) };
        });
        const report: StatusReport = {
          dc: opts.dc,
          group,
          peers,
          links,
          partitions,
          sinks,
          source,
          totalLag: partitions.reduce((n, p) => n + p.lag, 0),
        };
        process.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : renderStatus(report));
        if (failures.length > 0) {
          process.stderr.write(`tandem: ${failures.length} metrics endpoint${failures.length > 1 ? 's' : ''} could not be read: ${failures.join('; ')}\n`);
          process.exitCode = 1;
        }
      } finally {
        redis?.close();
        await admin.disconnect();
      }
    });
}

/** The service client settings, but failing within seconds: an operator is waiting. */
function statusKafka(s: KafkaSettings): Kafka {
  return new Kafka({ ...kafkaConfig(s, 'status'), retry: { initialRetryTime: 200, retries: 2, maxRetryTime: 2000 }, connectionTimeout: 3000 });
}

async function connectAdmin(admin: Admin, s: KafkaSettings): Promise<void> {
  try {
    await admin.connect();
  } catch (err) {
    throw new TandemError('KAFKA_UNAVAILABLE', `cannot reach Kafka at ${s.brokers.join(',')}: ${redactUrls(errorMessage(err))}`, { cause: err });
  }
}
