import { Command } from 'commander';
import { TandemError } from '../../shared/errors';
import { addTlsOptions, tlsOptionsFor, type TlsCliOptions } from '../redis-url';
import { topicsOf } from '../../shared/kafka-client';
import { readPartitions } from '../../shared/partition-reader';
import { keySlot, slotPartition } from '../../shared/slot';
import { AuditCollector, type AuditEntry } from '../audit/collect';
import { keyExtractor } from '../audit/command-keys';
import { readCommandTable } from '../audit/command-table-reader';
import { AUDIT_HEADER, formatEntry } from '../audit/format';
import { connectAdmin, offsetsForTime, parseTime, planRanges, toolKafka, topicBounds, type PositionSpec } from '../kafka-range';
import { kafkaFromOptions, parseDc, parsePositiveInt, addKafkaOptions } from '../options';

/**
 * `tandem audit --dc <dc> --key K`: every event of tandem.<dc>.changes that
 * touched K, in order, read from the one partition that holds K's slot.
 * Exit codes: 0 events found, 1 none (or a failure), 2 usage.
 */
interface AuditOptions extends TlsCliOptions {
  dc: string;
  key: string;
  keyBase64?: boolean;
  since?: number;
  until?: number;
  follow?: boolean;
  redis?: string;
  maxValueBytes?: number;
  stats?: boolean;
  json?: boolean;
  brokers?: string;
  config?: string;
}

export function registerAuditCommand(program: Command): void {
  addKafkaOptions(addTlsOptions(program.command('audit'), 'a rediss:// --redis')
    .description("list, in order, every event that touched a key: time, origin, kind, partition/offset and the command; reads only the partition of the key's slot")
    .requiredOption('--dc <dc>', 'the DC whose change log to read: tandem.<dc>.changes', parseDc)
    .requiredOption('--key <key>', 'the key (UTF-8 text, or base64 with --key-base64)')
    .option('--key-base64', 'the --key value is base64 (for binary keys)')
    .option('--since <time>', 'events captured at or after this time: ISO 8601 or relative (-15m, -2h, -7d); default the oldest retained', (v) => parseTime(v))
    .option('--until <time>', 'events captured before this time (exclusive); default now', (v) => parseTime(v))
    .option('--follow', 'after the history, keep printing new events until interrupted (with --json: one JSON object per line)')
    .option('--redis <url>', "read the command table (COMMAND) from this Redis node to find each command's keys exactly; default a built-in table")
    .option('--max-value-bytes <n>', 'cut longer arguments and values (default 64 for text output, 4096 for --json)', parsePositiveInt('--max-value-bytes'))
    .option('--stats', 'print what was read (partitions, offsets, records) as one JSON line on stderr')
    .option('--json', 'machine-readable output: a JSON array of events'))
    .action(async (opts: AuditOptions) => runAudit(opts));
}

async function runAudit(opts: AuditOptions): Promise<void> {
  const key = opts.keyBase64 ? Buffer.from(opts.key, 'base64') : Buffer.from(opts.key, 'utf8');
  if (key.length === 0) throw new TandemError('USAGE', '--key must not be empty');
  if (opts.since !== undefined && opts.until !== undefined && opts.until <= opts.since) throw new TandemError('USAGE', '--until must be after --since');
  if (opts.follow && opts.until !== undefined) throw new TandemError('USAGE', '--follow and --until exclude each other');
  const settings = kafkaFromOptions(opts);
  const maxBytes = opts.maxValueBytes ?? (opts.json ? 4096 : 64);
  const tls = tlsOptionsFor(opts.redis, opts);
  const table = opts.redis !== undefined ? await readCommandTable(opts.redis, tls) : undefined;
  const topic = topicsOf(opts.dc).changes;
  const kafka = toolKafka(settings, 'audit');

  const admin = await connectAdmin(kafka, settings.brokers);
  const slot = keySlot(key);
  let range;
  try {
    const bounds = await topicBounds(admin, topic);
    const partition = slotPartition(slot, bounds.length);
    const from: PositionSpec = opts.since !== undefined ? { kind: 'time', ms: opts.since, text: '' } : { kind: 'earliest' };
    const to: PositionSpec | undefined = opts.until !== undefined ? { kind: 'time', ms: opts.until, text: '' } : undefined;
    const times = { from: await offsetsForTime(admin, topic, from), to: await offsetsForTime(admin, topic, to) };
    [range] = planRanges(bounds, from, to, times, { only: [partition], follow: opts.follow });
  } finally {
    await admin.disconnect();
  }

  const collector = new AuditCollector(key, slot, keyExtractor(table), maxBytes, { fromMs: opts.since, toMs: opts.until });
  const entries: AuditEntry[] = [];
  const abort = new AbortController();
  const stop = () => abort.abort();
  if (opts.follow) {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (!opts.json) process.stdout.write(`${AUDIT_HEADER}\n`);
  }
  let read;
  try {
    read = await readPartitions(kafka, {
      topic,
      ranges: [range],
      groupPrefix: 'tandem-audit',
      signal: abort.signal,
      stallMs: opts.follow ? Number.MAX_SAFE_INTEGER : 60_000,
      onMessages: (partition, messages) => {
        for (const m of messages) {
          for (const e of collector.add(partition, m)) {
            entries.push(e);
            if (opts.follow) process.stdout.write(`${opts.json ? JSON.stringify(e) : formatEntry(e)}\n`);
          }
        }
      },
    });
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }

  const where = `${topic} partition ${range.partition} (offsets ${range.from}..${range.to ?? 'end'})`;
  if (opts.stats) {
    process.stderr.write(
      `${JSON.stringify({
        topic,
        slot,
        partition: range.partition,
        from: String(range.from),
        to: range.to === undefined ? null : String(range.to),
        partitionsRead: read.partitionsRead,
        records: collector.stats.records,
        bytes: read.bytes,
        events: entries.length,
        undecodable: collector.stats.undecodable,
        abandonedSequences: collector.stats.abandonedSequences,
      })}\n`,
    );
  }
  if (collector.stats.undecodable > 0) {
    process.stderr.write(`tandem: warning: ${collector.stats.undecodable} records of ${where} could not be decoded (last: ${collector.stats.lastDecodeError})\n`);
  }
  if (collector.stats.abandonedSequences > 0) {
    process.stderr.write(
      `tandem: note: ${collector.stats.abandonedSequences} chunk sequence(s) of the key were left unfinished by a full sync that broke inside it; no sink applied them (last: ${collector.stats.lastAbandoned})\n`,
    );
  }
  if (!opts.follow) {
    if (opts.json) process.stdout.write(entries.length === 0 ? '[]\n' : `[\n${entries.map((e) => JSON.stringify(e)).join(',\n')}\n]\n`);
    else if (entries.length > 0) process.stdout.write(`${AUDIT_HEADER}\n${entries.map(formatEntry).join('\n')}\n`);
  }
  if (entries.length === 0) {
    process.stderr.write(`tandem: no event touched key ${JSON.stringify(key.toString('utf8'))} in ${where}\n`);
    process.exitCode = 1;
  } else if (!opts.json && !opts.follow) {
    process.stderr.write(`${entries.length} event${entries.length > 1 ? 's' : ''} touched the key; read ${collector.stats.records} records of ${where}\n`);
  }
}
