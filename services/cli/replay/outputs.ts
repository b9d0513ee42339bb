import type { ConnectionOptions } from 'node:tls';
import { createWriteStream, type WriteStream } from 'node:fs';
import Redis, { type RedisOptions } from 'ioredis';
import { TandemError, errorMessage } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import { formatMarkerValue, markerKey } from '../../shared/marker';
import type { ApplyItem } from '../../sink/apply/apply-item';
import { ClusterRouter } from '../../sink/apply/cluster-router';
import { MarkerCache } from '../../sink/apply/marker-cache';
import { RespPipe } from '../../sink/apply/resp-pipe';
import { planLanes } from '../../sink/apply/slot-batcher';
import { Writer } from '../../sink/apply/writer';
import { argJson } from '../audit/render';
import { encodeCommand } from '../../shared/resp';
import type { ReplayItem } from './select';
import { parseRedisUrl } from '../redis-url';

/**
 * Where replayed events go. Each output takes the selected items of one
 * partition batch, in offset order, and says how many it applied.
 */
export interface WriteResult {
  applied: number;
  rejected: { partition: number; offset: string; error: string }[];
}

export interface ReplayOutput {
  write(items: ReplayItem[]): Promise<WriteResult>;
  close(): Promise<void>;
}

/** --dry-run: applies nothing, counts what would be applied. */
export class DryRunOutput implements ReplayOutput {
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
export class FileOutput implements ReplayOutput {
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

/** A router for a target that is one Redis node, not a cluster: every slot lives on it. */
class SingleNodeRouter {
  readonly key: string;
  private readonly node: Redis;
  private readonly raw: RespPipe;

  constructor(host: string, port: number, options: RedisOptions, log: Logger) {
    this.key = `${host}:${port}`;
    this.raw = new RespPipe({
      host,
      port,
      username: options.username,
      password: options.password,
      tls: options.tls as ConnectionOptions | undefined,
      db: options.db,
      connectTimeoutMs: 3000,
    });
    this.node = new Redis({ ...options, host, port, autoResendUnfulfilledCommands: false, maxRetriesPerRequest: 2, connectTimeout: 3000 });
    this.node.on('error', (err: Error) => log.debug({ err }, 'target connection error'));
  }
  async master(): Promise<{ key: string; client: Redis }> {
    return { key: this.key, client: this.node };
  }
  client(): Redis {
    return this.node;
  }
  pipe(): RespPipe {
    return this.raw;
  }
  async refresh(): Promise<void> {}
  close(): void {
    this.node.disconnect();
    this.raw.close();
  }
}

export interface TargetOptions {
  url: string;
  /** overrides a password in the URL (--target-password-env) */
  password?: string;
  /** CA and client certificate for a rediss:// target (--tls-*) */
  tls?: ConnectionOptions;
  /** read existing markers and skip what they cover (resume an interrupted replay) */
  resume: boolean;
  maxCommandsPerTransaction: number;
  maxTransactionBytes: number;
  log: Logger;
}

/**
 * --target URL: applies through the sink's own writer, so every run of a slot
 * is `MULTI; SET <marker of the event's origin> <partition>:<offset>:<index>; …; EXEC`.
 * The marker makes the target's source tag these writes with their true
 * origin, so the other DC's sink drops them: replay never echoes. Without
 * --resume the markers found in the target are not read (a replay re-applies
 * what it is told to), only written.
 */
export class TargetOutput implements ReplayOutput {
  private constructor(
    private readonly writer: Writer,
    private readonly router: { close(): void },
    private readonly o: TargetOptions,
    readonly description: string,
  ) {}

  static async open(o: TargetOptions): Promise<TargetOutput> {
    const t = parseRedisUrl(o.url, { allowDb: true });
    if (o.tls && !t.tls) throw new TandemError('USAGE', '--tls-* options are for a rediss:// --target');
    const u = t.seeds[0];
    const options: RedisOptions = { username: t.username, password: o.password ?? t.password, tls: t.tls ? (o.tls ?? {}) : undefined, db: t.db };
    const probe = new Redis({ ...options, host: u.host, port: u.port, lazyConnect: true, connectTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined); // the connect() below reports it
    let cluster: boolean;
    try {
      await probe.connect();
      cluster = /cluster_enabled:1/.test(await probe.info('cluster'));
    } catch (err) {
      throw new TandemError('REDIS_UNAVAILABLE', `cannot reach the target ${u.host}:${u.port}: ${errorMessage(err)}`, { cause: err });
    } finally {
      probe.disconnect();
    }
    let router: ClusterRouter | SingleNodeRouter;
    if (cluster) {
      const r = new ClusterRouter(t.seeds, options, o.log);
      await r.refresh().catch((err: unknown) => {
        throw TandemError.wrap('REDIS_UNAVAILABLE', `cannot read the target cluster's slots from ${u.host}:${u.port}`, err);
      });
      router = r;
    } else {
      router = new SingleNodeRouter(u.host, u.port, options, o.log);
    }
    const holder: { writer?: Writer } = {};
    const markers = new MarkerCache(async (slot, origin) => (o.resume ? holder.writer!.readMarker(slot, origin) : null));
    holder.writer = new Writer({ router, markers, retries: 20, backoffMs: 100, maxBackoffMs: 2000, log: o.log });
    return new TargetOutput(holder.writer, router, o, `${cluster ? 'cluster' : 'node'} ${u.host}:${u.port}`);
  }

  async write(items: ReplayItem[]): Promise<WriteResult> {
    const apply: ApplyItem[] = items.map((i) => ({
      record: { topic: '', partition: i.partition, offset: String(i.offset), key: null, value: null },
      offset: i.offset,
      index: i.index,
      event: i.event,
      commands: i.commands,
    }));
    const lanes = planLanes(apply, { maxCommands: this.o.maxCommandsPerTransaction, maxBytes: this.o.maxTransactionBytes });
    const outcomes = (await Promise.all(lanes.map((lane) => this.writer.applyLane(lane)))).flat();
    const result: WriteResult = { applied: 0, rejected: [] };
    for (const out of outcomes) {
      if (out.status === 'applied') result.applied++;
      else if (out.status === 'rejected') result.rejected.push({ partition: out.item.record.partition, offset: out.item.record.offset, error: out.error });
    }
    return result;
  }

  async close(): Promise<void> {
    this.router.close();
  }
}

