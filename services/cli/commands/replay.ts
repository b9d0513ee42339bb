import { Command, Option } from 'commander';
import { addTlsOptions, tlsOptionsFor, type TlsCliOptions } from '../redis-url';
import { topicsOf } from '../../shared/kafka-client';
import { createLogger } from '../../shared/logger';
import { readPartitions, type PartitionRange } from '../../shared/partition-reader';
import { keySlot, slotPartition } from '../../shared/slot';
import { keyExtractor } from '../audit/command-keys';
import { readCommandTable } from '../audit/command-table-reader';
import {
  checkOffsetPartitions,
  connectAdmin,
  offsetsForTime,
  parsePosition,
  parseSlotRange,
  partitionsOfSlots,
  planRanges,
  timeWindow,
  toolKafka,
  topicBounds,
  type PositionSpec,
  type SlotRange,
} from '../kafka-range';
import { kafkaFromOptions, parseDc, addKafkaOptions } from '../options';
import { isLiteralPattern } from '../replay/glob';
import { Progress } from '../replay/progress';
import { ReplaySelector, type ReplayItem } from '../replay/select';
import { ReplaySummary } from '../replay/summary';
import { addTargetOptions, chooseTarget } from '../replay/targets';
import { targetPassword } from '../replay/targets/redis';

/**
 * `tandem replay`: re-applies a range of a changes topic to a target cluster
 * or node, writes it to a file, or counts it (--dry-run): the targets are the
 * files of replay/targets/, each bringing its own options. docs/tools.md
 * explains the semantics (origins, markers, snapshots, replaying twice).
 * Exit codes: 0 all applied, 1 some event rejected or a failure, 2 usage.
 */
interface ReplayOptions extends TlsCliOptions {
  dc: string;
  from: PositionSpec;
  to?: PositionSpec;
  key?: string;
  keyBase64?: boolean;
  origin?: string;
  slotRange?: SlotRange;
  snapshots: boolean;
  redis?: string;
  progress: 'auto' | 'bar' | 'log' | 'none';
  json?: boolean;
  brokers?: string;
  config?: string;
  /** the targets' own options (replay/targets/*.ts), --target among them */
  [targetOption: string]: unknown;
}

const parseOrigin = (v: string) => (v === 'any' ? v : parseDc(v));

export function registerReplayCommand(program: Command): void {
  const cmd = addKafkaOptions(addTlsOptions(program.command('replay'), 'a rediss:// --target or --redis')
    .description('re-apply history from tandem.<dc>.changes to a target (cluster or node), to a file, or count it with --dry-run')
    .requiredOption('--dc <dc>', 'the DC whose change log to replay: tandem.<dc>.changes', parseDc)
    .requiredOption('--from <position>', 'start: earliest | latest | ISO time | relative time (-15m) | partition:offset[,…] (only those partitions)', (v) => parsePosition(v))
    .option('--to <position>', 'end, exclusive: latest (default, the end when the replay starts) | ISO time | relative time | partition:offset[,…]', (v) => parsePosition(v))
    .option('--key <pattern>', 'only events with a key matching this glob (*, ?, [..], \\); a transaction is kept whole')
    .option('--key-base64', 'the --key pattern is base64 (binary keys)')
    .option('--origin <dc|any>', "only events whose write was made in this DC (default: the topic's DC); any = every origin", parseOrigin)
    .option('--slot-range <a-b>', 'only events of these slots (inclusive); reads only the partitions holding them', parseSlotRange)
    .option('--no-snapshots', 'skip snapshot events (RESTORE … REPLACE of full resyncs)')
    .option('--redis <url>', "read the command table (COMMAND) from this node to find keys for --key (default: the --target's, else built-in)")
    .addOption(new Option('--progress <mode>', 'progress on stderr: auto (a bar on a TTY, a line every 5 s otherwise), bar, log, none').choices(['auto', 'bar', 'log', 'none']).default('auto'))
    .option('--json', 'print the summary as JSON'));
  addTargetOptions(cmd).action(async (opts: ReplayOptions) => runReplay(opts));
}

async function runReplay(opts: ReplayOptions): Promise<void> {
  const kind = chooseTarget(opts);
  const targetUrl = opts.target as string | undefined;
  const tls = tlsOptionsFor(targetUrl ?? opts.redis, opts);
  const keyPattern = opts.key === undefined ? undefined : opts.keyBase64 ? Buffer.from(opts.key, 'base64') : Buffer.from(opts.key, 'utf8');
  const settings = kafkaFromOptions(opts);
  const topic = topicsOf(opts.dc).changes;
  const origin = opts.origin === 'any' ? undefined : (opts.origin ?? opts.dc);
  const kafka = toolKafka(settings, 'replay');

  // 1. Offsets: the ranges to read, fixed before reading starts.
  const admin = await connectAdmin(kafka, settings.brokers);
  let ranges: PartitionRange[];
  try {
    const bounds = await topicBounds(admin, topic);
    checkOffsetPartitions(opts.from, '--from', bounds.length);
    if (opts.to) checkOffsetPartitions(opts.to, '--to', bounds.length);
    let only: number[] | undefined;
    if (opts.slotRange) only = partitionsOfSlots(opts.slotRange, bounds.length);
    if (keyPattern && isLiteralPattern(keyPattern)) {
      // One key, one slot, one partition: read nothing else.
      const p = slotPartition(keySlot(keyPattern), bounds.length);
      only = only ? only.filter((x) => x === p) : [p];
    }
    const times = { from: await offsetsForTime(admin, topic, opts.from), to: await offsetsForTime(admin, topic, opts.to) };
    ranges = planRanges(bounds, opts.from, opts.to, times, { only });
  } finally {
    await admin.disconnect();
  }

  // 2. Where the events go.
  const log = createLogger('replay', { level: process.env.TANDEM_LOG_LEVEL ?? 'warn', destination: process.stderr });
  // The command table comes from --redis, else from a Redis --target when --key needs keys.
  const commandSource = opts.redis ?? (keyPattern ? targetUrl : undefined);
  const table = keyPattern && commandSource ? await readCommandTable(commandSource, commandSource.startsWith('rediss:') ? tls : undefined, commandSource === targetUrl ? targetPassword(opts) : undefined) : undefined;
  const { target: output, description, appliesNothing } = await kind.open(opts, { tls, log });

  // 3. Read, select, write.
  const window = timeWindow(opts.from, opts.to);
  const selector = new ReplaySelector({
    origin,
    fromMs: window.fromMs,
    toMs: window.toMs,
    slotRange: opts.slotRange,
    keyPattern,
    snapshots: opts.snapshots,
    keysOf: keyExtractor(table),
    maxRestoreBytes: 512 * 1024 * 1024,
  });
  const summary = new ReplaySummary(topic, description, appliesNothing, ranges);
  const total = ranges.reduce((n, r) => n + ((r.to ?? r.from) - r.from), 0n);
  const mode = opts.progress === 'auto' ? (process.stderr.isTTY ? 'bar' : 'log') : opts.progress;
  const progress = new Progress(total, process.stderr, { mode });
  const positions = new Map(ranges.map((r) => [r.partition, r.from]));
  const abort = new AbortController();
  const interrupt = () => {
    summary.interrupted = true;
    abort.abort();
  };
  process.once('SIGINT', interrupt);
  progress.start();
  try {
    const read = await readPartitions(kafka, {
      topic,
      ranges,
      groupPrefix: 'tandem-replay',
      signal: abort.signal,
      concurrency: Math.min(8, Math.max(1, ranges.length)),
      onPosition: (partition, next) => {
        const before = positions.get(partition) ?? next;
        if (next > before) {
          progress.add(next - before);
          positions.set(partition, next);
        }
      },
      onMessages: async (partition, messages) => {
        const items: ReplayItem[] = [];
        for (const m of messages) items.push(...selector.select(partition, m));
        summary.selected(items);
        if (items.length > 0) summary.written(await output.write(items));
      },
    });
    summary.read(read);
  } finally {
    process.removeListener('SIGINT', interrupt);
    progress.stop();
    await output.close();
  }
  summary.skipped = Object.fromEntries(selector.skipped);
  if (selector.lastError) process.stderr.write(`tandem: warning: some records could not be decoded (last: ${selector.lastError})\n`);
  process.stdout.write(opts.json ? `${JSON.stringify(summary.toJSON())}\n` : summary.toText());
  if (summary.rejected.length > 0 || summary.interrupted) process.exitCode = 1;
}
