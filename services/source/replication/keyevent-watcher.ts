import Redis, { type RedisOptions } from 'ioredis';
import { TandemError, errorMessage } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import { connectNode } from '../../shared/redis-connect';
import { isAuthReply } from '../../shared/redis-replies';

/**
 * Tells the deletions a master makes itself from a client's: an expired or
 * evicted key reaches a replica as the same `DEL`/`UNLINK` a client would
 * send (redis/src/db.c deleteExpiredKeyAndPropagate, evict.c
 * performEvictions). Both also publish a keyspace notification first,
 * `__keyevent@<db>__:expired` or `:evicted`, so a second connection to the
 * master subscribed to them knows which stream deletions are the server's.
 *
 * The fence makes that sound whatever the two sockets' timing: the master
 * queues a notification before (never after) the deletion's propagation,
 * and answers our PING after everything it queued for us before it. So a PING
 * sent after the link has read a deletion comes back after that deletion's
 * notification, if there is one (`fence`).
 *
 * Notifications wait in FIFO order per (db, key) until the stream's deletion
 * of that key takes them (`take`). One left unclaimed for `STALE_MS` (a
 * deletion before the link's start position, or a link far behind) is dropped,
 * logged and counted: its deletion, if it ever shows up, then replicates as a
 * client's.
 */
export type ServerDeletion = 'expiry' | 'eviction';

const CHANNELS: Record<string, ServerDeletion> = { expired: 'expiry', evicted: 'eviction' };
const PATTERNS = ['__keyevent@*__:expired', '__keyevent@*__:evicted'];
/** Keyspace notification classes the watcher needs: E (keyevent channel), x (expired), e (evicted). */
const REQUIRED = ['E', 'x', 'e'];
const STALE_MS = 10 * 60_000;

export interface KeyeventWatcherOptions {
  host: string;
  port: number;
  redisOptions: RedisOptions;
  log: Logger;
  /** Notifications dropped unclaimed after STALE_MS. */
  onStale?: (n: number) => void;
}

export class KeyeventWatcher {
  private sub: Redis | undefined;
  private readonly pending = new Map<string, { kind: ServerDeletion; at: number }[]>();
  private size = 0;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly o: KeyeventWatcherOptions) {}

  get endpoint(): string {
    return `${this.o.host}:${this.o.port}`;
  }

  /** Checks (and if needed sets) notify-keyspace-events, then subscribes. */
  async start(): Promise<void> {
    await this.ensureNotifications();
    const sub = new Redis({ ...this.o.redisOptions, host: this.o.host, port: this.o.port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 3000 });
    sub.on('error', (err: Error) => this.o.log.debug({ endpoint: this.endpoint, err }, 'keyevent connection error'));
    sub.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, key: Buffer) => this.notified(channel, key));
    this.sub = sub;
    try {
      await sub.connect();
      await sub.psubscribe(...PATTERNS);
    } catch (err) {
      sub.disconnect();
      const text = errorMessage(err);
      throw new TandemError(
        isAuthReply(text) ? 'REDIS_AUTH' : 'REDIS_UNAVAILABLE',
        `cannot subscribe to ${PATTERNS.join(' and ')} on ${this.endpoint} (the source tells expiries and evictions from client deletions by them; ` +
          `the user needs +psubscribe and the channels, see docs/security.md): ${text}`,
        { cause: err },
      );
    }
    this.sweeper = setInterval(() => this.sweep(), 60_000);
    this.sweeper.unref();
  }

  /** Resolves once every notification the master published before now has been received. */
  async fence(): Promise<void> {
    if (!this.sub) throw new TandemError('INTERNAL', 'keyevent watcher used before start()');
    try {
      await this.sub.ping();
    } catch (err) {
      // Without the fence a deletion cannot be classified: the link must not go on.
      throw new TandemError('REDIS_UNAVAILABLE', `keyevent connection to ${this.endpoint} lost: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** The server deletion this stream deletion of (db, key) is, if a notification says so; it is consumed. */
  take(db: number, key: Buffer): ServerDeletion | undefined {
    const id = `${db}:${key.toString('latin1')}`;
    const list = this.pending.get(id);
    const first = list?.shift();
    if (list !== undefined && list.length === 0) this.pending.delete(id);
    if (first !== undefined) this.size--;
    return first?.kind;
  }

  get waiting(): number {
    return this.size;
  }

  stop(): void {
    clearInterval(this.sweeper);
    this.sub?.disconnect();
    this.sub = undefined;
  }

  private notified(channel: Buffer, key: Buffer): void {
    // __keyevent@<db>__:<event>
    const m = /^__keyevent@(\d+)__:(\w+)$/.exec(channel.toString('latin1'));
    const kind = m ? CHANNELS[m[2]] : undefined;
    if (m === null || kind === undefined) return; // not one of ours (cannot happen with these patterns)
    const id = `${m[1]}:${key.toString('latin1')}`;
    let list = this.pending.get(id);
    if (list === undefined) this.pending.set(id, (list = []));
    list.push({ kind, at: Date.now() });
    this.size++;
  }

  private sweep(): void {
    const cutoff = Date.now() - STALE_MS;
    let dropped = 0;
    for (const [id, list] of this.pending) {
      while (list.length > 0 && list[0].at < cutoff) {
        list.shift();
        dropped++;
      }
      if (list.length === 0) this.pending.delete(id);
    }
    if (dropped === 0) return;
    this.size -= dropped;
    this.o.log.warn({ endpoint: this.endpoint, dropped }, 'expiry/eviction notifications unclaimed for 10 minutes dropped (their deletions were before the link\'s start, or the link is far behind)');
    this.o.onStale?.(dropped);
  }

  private async ensureNotifications(): Promise<void> {
    let r: Redis | undefined;
    try {
      r = await connectNode(this.o.host, this.o.port, this.o.redisOptions, 'replication');
      const [, current = ''] = (await r.config('GET', 'notify-keyspace-events')) as string[];
      const has = (c: string) => current.includes(c) || (c !== 'E' && c !== 'K' && current.includes('A'));
      const missing = REQUIRED.filter((c) => !has(c));
      if (missing.length === 0) return;
      const wanted = current + missing.join('');
      try {
        await r.config('SET', 'notify-keyspace-events', wanted);
      } catch (err) {
        throw new TandemError(
          'CONFIG_INVALID',
          `${this.endpoint} has notify-keyspace-events "${current}", which lacks ${missing.join(', ')}; the source needs "Exe" (keyevent notifications of expired and evicted keys) ` +
            `to tell expiries and evictions from client deletions, and cannot set it (${errorMessage(err)}). Set notify-keyspace-events to include Exe in redis.conf on every node, or grant +config|set`,
          { cause: err },
        );
      }
      this.o.log.info({ endpoint: this.endpoint, before: current, after: wanted }, 'notify-keyspace-events set to include Exe (expired and evicted keyevents); put it in redis.conf so a restarted node keeps it');
    } catch (err) {
      if (err instanceof TandemError) throw err;
      const text = errorMessage(err);
      const denied = isAuthReply(text);
      throw new TandemError(denied ? 'REDIS_AUTH' : 'REDIS_UNAVAILABLE', `cannot read notify-keyspace-events on ${this.endpoint} (the user needs +config|get): ${text}`, {
        cause: err,
      });
    } finally {
      r?.disconnect();
    }
  }
}
