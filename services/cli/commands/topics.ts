import { Command } from 'commander';
import { createKafka } from '../../shared/kafka-client';
import { DEFAULT_PARTITIONS, DEFAULT_RETENTION_MS, ensureTopics } from '../../shared/topics';
import { kafkaFromOptions, parseDc, parseDuration, parsePositiveInt, addKafkaOptions } from '../options';

/** `tandem topics init`: create a DC's changes, checkpoints, DLQ and conflicts topics. */
export function registerTopicsCommand(program: Command): void {
  const topics = program.command('topics').description("manage a DC's Kafka topics");
  addKafkaOptions(topics
    .command('init')
    .description('create tandem.<dc>.changes (P partitions), .checkpoints (compacted), .dlq and .conflicts; idempotent')
    .requiredOption('--dc <dc>', 'the DC whose topics to create', parseDc)
    .option('--partitions <P>', 'partitions of the changes topic, fixed for its life', parsePositiveInt('--partitions', 16384), DEFAULT_PARTITIONS)
    .option('--retention <duration>', 'retention of changes, DLQ and conflicts, e.g. 7d, 12h, -1 for forever', parseDuration, DEFAULT_RETENTION_MS)
    .option('--replication-factor <n>', 'replicas per partition (default: the broker default)', parsePositiveInt('--replication-factor', 16)))
    .option('--json', 'machine-readable output')
    .action(async (opts: { dc: string; partitions: number; retention: number; replicationFactor?: number; brokers?: string; config?: string; json?: boolean }) => {
      const admin = createKafka(kafkaFromOptions(opts), 'topics').admin();
      await admin.connect();
      try {
        const outcomes = await ensureTopics(admin, {
          dc: opts.dc,
          partitions: opts.partitions,
          retentionMs: opts.retention,
          replicationFactor: opts.replicationFactor ?? -1,
        });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(outcomes)}\n`);
        } else {
          for (const o of outcomes) process.stdout.write(`${o.action.padEnd(8)} ${o.topic} (${o.partitions} partition${o.partitions > 1 ? 's' : ''})\n`);
        }
      } finally {
        await admin.disconnect();
      }
    });
}
