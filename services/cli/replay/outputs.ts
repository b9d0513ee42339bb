import { createWriteStream, type WriteStream } from 'node:fs';
import { TandemError } from '../../shared/errors';
import { formatMarkerValue, markerKey } from '../../shared/marker';
import { encodeCommand } from '../../shared/resp';
import type { Target, WriteResult } from '../../sink/apply/target';
import { argJson } from '../audit/render';
import type { ReplayItem } from './select';

/**
 * `tandem replay`'s outputs other than a Redis target (sink/apply/target.ts
 * RedisTarget): each a Target, taking the selected items of one partition
 * batch, in offset order, and saying how many it applied.
 */
export type ReplayOutput = Target;

/** --dry-run: applies nothing, counts what would be applied. */
export class DryRunOutput implements Target {
  async write(items: ReplayItem[]): Promise<WriteResult> {
    return { applied: items.length, rejected: [] };
  }
  async close(): Promise<void> {}
}

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
