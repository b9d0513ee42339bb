import { Command } from 'commander';
import { TandemError } from '../../shared/errors';
import { topicsOf } from '../../shared/kafka-client';
import { readPartitions, type PartitionRange } from '../../shared/partition-reader';
import { formatConflicts } from '../conflicts/format';
import { ConflictSelector, byDetection, readWindow, type ListedConflict } from '../conflicts/select';
import { connectAdmin, offsetsForTime, parseTimeOrAgo, planRanges, toolKafka, topicBounds } from '../kafka-range';
import { kafkaFromOptions, parseDc, addKafkaOptions } from '../options';

/**
 * `tandem conflicts --dc <dc>`: the conflicts the sinks of <dc> detected
 * (sink.conflicts: report), read from tandem.<dc>.conflicts between two
 * detection times, optionally for keys matching a glob, oldest first.
 * Exit codes: 0 (with or without conflicts: none is the healthy state),
 * 1 a failure (Kafka, missing topic), 2 usage.
 */
interface ConflictsOptions {
  dc: string;
  since?: number;
  until?: number;
  key?: string;
  keyBase64?: boolean;
  json?: boolean;
  brokers?: string;
  config?: string;
}

const DEFAULT_SINCE = '1h';

export function registerConflictsCommand(program: Command): void {
  addKafkaOptions(program
    .command('conflicts')
    .description('list the conflicts (concurrent writes of one key in two DCs) the sinks of a DC detected: when, the key, both writes with their origins, capture times and commands')
    .requiredOption('--dc <dc>', 'the DC whose conflicts to list: tandem.<dc>.conflicts', parseDc)
    .option('--since <time>', `detected at or after: a duration ago (30m, 1h, 7d), ISO 8601 or relative (-2h); default ${DEFAULT_SINCE}`, (v) => parseTimeOrAgo(v))
    .option('--until <time>', 'detected before (exclusive), same forms; default now', (v) => parseTimeOrAgo(v))
    .option('--key <pattern>', 'only keys matching this glob (*, ?, [..], \\), as SCAN MATCH')
    .option('--key-base64', 'the --key pattern is base64 (binary keys)')
    .option('--json', 'machine-readable output: a JSON array of the records as the sinks wrote them'))
    .action(async (opts: ConflictsOptions) => runConflicts(opts));
}

async function runConflicts(opts: ConflictsOptions): Promise<void> {
  const since = opts.since ?? parseTimeOrAgo(DEFAULT_SINCE);
  if (opts.until !== undefined && opts.until <= since) throw new TandemError('USAGE', '--until must be after --since');
  const keyPattern = opts.key === undefined ? undefined : Buffer.from(opts.key, opts.keyBase64 ? 'base64' : 'utf8');
  if (keyPattern?.length === 0) throw new TandemError('USAGE', '--key must not be empty');
  const settings = kafkaFromOptions(opts);
  const topic = topicsOf(opts.dc).conflicts;
  const kafka = toolKafka(settings, 'conflicts');

  const admin = await connectAdmin(kafka, settings.brokers);
  let ranges: PartitionRange[];
  try {
    const bounds = await topicBounds(admin, topic).catch((err: unknown) => {
      if (!(err instanceof TandemError && err.code === 'TOPIC_MISMATCH')) throw err;
      throw new TandemError(
        'TOPIC_MISMATCH',
        `topic ${topic} does not exist: is the DC name right? Topics created before conflict detection lack it; \`tandem topics init --dc ${opts.dc}\` adds it (idempotent), and sinks with sink.conflicts: report write to it`,
        { cause: err },
      );
    });
    const { from, to } = readWindow(since, opts.until);
    const times = { from: await offsetsForTime(admin, topic, from), to: await offsetsForTime(admin, topic, to) };
    ranges = planRanges(bounds, from, to, times);
  } finally {
    await admin.disconnect();
  }

  const selector = new ConflictSelector({ fromMs: since, toMs: opts.until, keyPattern });
  const listed: ListedConflict[] = [];
  await readPartitions(kafka, {
    topic,
    ranges,
    groupPrefix: 'tandem-conflicts-cli',
    onMessages: (partition, messages) => {
      for (const m of messages) {
        const c = selector.select(partition, m);
        if (c !== undefined) listed.push(c);
      }
    },
  });
  listed.sort(byDetection);
  const records = listed.map((c) => c.record);

  const window = `detected ${new Date(since).toISOString()} .. ${opts.until === undefined ? 'now' : new Date(opts.until).toISOString()}${opts.key === undefined ? '' : `, key ${JSON.stringify(opts.key)}`}`;
  const read = `read ${selector.stats.records} records of ${topic} (${ranges.map((r) => `partition ${r.partition} offsets ${r.from}..${r.to ?? 'end'}`).join(', ')})`;
  if (selector.stats.undecodable > 0) {
    process.stderr.write(`tandem: warning: ${selector.stats.undecodable} records of ${topic} are not conflict records (last: ${selector.stats.lastDecodeError})\n`);
  }
  if (opts.json) {
    process.stdout.write(records.length === 0 ? '[]\n' : `[\n${records.map((r) => JSON.stringify(r)).join(',\n')}\n]\n`);
  } else if (records.length > 0) {
    process.stdout.write(`${formatConflicts(records).join('\n')}\n`);
  }
  if (records.length === 0) process.stderr.write(`tandem: no conflicts ${window}; ${read}\n`);
  else if (!opts.json) process.stderr.write(`${records.length} conflict${records.length > 1 ? 's' : ''} ${window}; ${read}\n`);
}
