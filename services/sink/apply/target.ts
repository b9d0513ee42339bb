import type { ConnectionOptions } from 'node:tls';
import Redis, { type RedisOptions } from 'ioredis';
import type { ChangeEvent } from '../../shared/change-event';
import { TandemError, errorMessage } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import type { ApplyItem } from './apply-item';
import { ClusterRouter } from './cluster-router';
import { MarkerCache } from './marker-cache';
import { RespPipe } from './resp-pipe';
import { planLanes } from './slot-batcher';
import { Writer } from './writer';

/**
 * Where events are written when they are not the sink's own live apply:
 * `tandem replay`'s Redis target (RedisTarget, below: the sink's Writer, with
 * its markers), its file and its dry run (cli/replay/targets/). Each takes
 * the selected events of one partition batch, in offset order, and says how
 * many it applied and which the target refused.
 *
 * The sink drives the Writer itself (batch-processor.ts): its apply adds
 * what a replay has no use for (the marker guard, WAIT for replicas,
 * rewinds, conflict detection). A new target is one file of
 * cli/replay/targets/ implementing Target and exporting its TargetKind
 * (cli/replay/target-kind.ts: its options, how it is chosen and opened).
 */
export interface TargetItem {
  partition: number;
  /** the event's address: its record's offset and its index in the record */
  offset: bigint;
  index: number;
  event: ChangeEvent;
  /** what to apply: the event's commands, with a big key's payload assembled */
  commands: Buffer[][];
}

export interface WriteResult {
  applied: number;
  rejected: { partition: number; offset: string; error: string }[];
}

export interface Target {
  write(items: TargetItem[]): Promise<WriteResult>;
  close(): Promise<void>;
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

export interface RedisTargetOptions {
  /** a cluster's seeds, or the one standalone node */
  seeds: { host: string; port: number }[];
  username?: string;
  password?: string;
  /** TLS options of a rediss:// target; undefined: plain TCP */
  tls?: ConnectionOptions;
  /** a standalone node's database */
  db?: number;
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
export class RedisTarget implements Target {
  private constructor(
    private readonly writer: Writer,
    private readonly router: { close(): void },
    private readonly o: RedisTargetOptions,
    readonly description: string,
  ) {}

  static async open(o: RedisTargetOptions): Promise<RedisTarget> {
    const u = o.seeds[0];
    if (u === undefined) throw new TandemError('USAGE', 'a Redis target needs a host:port');
    const options: RedisOptions = { username: o.username, password: o.password, tls: o.tls, db: o.db };
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
      const r = new ClusterRouter(o.seeds, options, o.log);
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
    return new RedisTarget(holder.writer, router, o, `${cluster ? 'cluster' : 'node'} ${u.host}:${u.port}`);
  }

  async write(items: TargetItem[]): Promise<WriteResult> {
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

