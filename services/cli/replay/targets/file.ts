import { Option, type Command } from 'commander';
import { createWriteStream, type WriteStream } from 'node:fs';
import { TandemError } from '../../../shared/errors';
import { formatMarkerValue, markerKey } from '../../../shared/marker';
import { encodeCommand } from '../../../shared/resp';
import type { Target, WriteResult } from '../../../sink/apply/target';
import { argJson } from '../../audit/render';
import type { ReplayItem } from '../select';
import type { TargetKind } from '../target-kind';

/**
 * --out FILE. `resp`: the commands as RESP arrays, for `redis-cli --pipe`
 * (transactions inside MULTI/EXEC; with `markers`, every event wrapped like
 * the sink does, marker first). `jsonl`: one event per line.
 */
export class FileOutput implements Target {
  private readonly out: WriteStream;
  private failed: Error | undefined;

  constructor(
    path: string,
    private readonly format: 'resp' | 'jsonl',
    private readonly markers: boolean,
  ) {
    this.out = path === '-' ? (process.stdout as unknown as WriteStream) : createWriteStream(path);
    this.out.on('error', (err) => {
      this.failed = err;
    });
  }

  async write(items: ReplayItem[]): Promise<WriteResult> {
    for (const item of items) {
      const chunk = this.format === 'jsonl' ? `${JSON.stringify(jsonLine(item))}\n` : this.resp(item);
      if (!this.out.write(chunk)) await new Promise<void>((r) => this.out.once('drain', r));
      if (this.failed) throw new TandemError('INTERNAL', `cannot write the output file: ${this.failed.message}`, { cause: this.failed });
    }
    return { applied: items.length, rejected: [] };
  }

  private resp(item: ReplayItem): Buffer {
    const wrap = this.markers || item.commands.length > 1;
    const parts: Buffer[] = [];
    if (wrap) parts.push(encodeCommand(['MULTI']));
    if (this.markers) parts.push(encodeCommand(['SET', markerKey(item.event.slot, item.event.origin), formatMarkerValue(item.partition, item.offset, item.index)]));
    for (const argv of item.commands) parts.push(encodeCommand(argv));
    if (wrap) parts.push(encodeCommand(['EXEC']));
    return Buffer.concat(parts);
  }

  async close(): Promise<void> {
    if (this.out === (process.stdout as unknown)) return;
    await new Promise<void>((resolve, reject) => this.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (this.failed) throw new TandemError('INTERNAL', `cannot write the output file: ${this.failed.message}`, { cause: this.failed });
  }
}

export function jsonLine(item: ReplayItem): unknown {
  const e = item.event;
  return {
    partition: item.partition,
    offset: String(item.offset),
    time: new Date(e.capturedAt).toISOString(),
    origin: e.origin,
    kind: e.kind,
    slot: e.slot,
    db: e.db,
    commands: item.commands.map((argv) => argv.map((a) => argJson(a))),
  };
}

interface FileOptions {
  out?: string;
  format: 'resp' | 'jsonl';
  markers?: boolean;
}

export const target: TargetKind = {
  choice: '--out FILE',
  addOptions: (cmd: Command) =>
    cmd
      .option('--out <file>', 'write the commands to FILE ("-" for stdout) instead of applying them')
      .addOption(new Option('--format <format>', 'format of --out: resp (for redis-cli --pipe) or jsonl').choices(['resp', 'jsonl']).default('resp'))
      .option('--markers', 'with --out --format resp: wrap each event in MULTI + the anti-loop marker like the sink does'),
  chosen: (opts) => (opts as unknown as FileOptions).out !== undefined,
  check: (opts) => {
    const o = opts as unknown as FileOptions;
    if (o.markers && (o.out === undefined || o.format !== 'resp')) throw new TandemError('USAGE', '--markers needs --out with --format resp');
  },
  open: async (opts) => {
    const o = opts as unknown as FileOptions;
    return { target: new FileOutput(o.out!, o.format, o.markers === true), description: `${o.format} file ${o.out}`, appliesNothing: false };
  },
};
