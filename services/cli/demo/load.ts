import type { Cluster } from 'ioredis';
import { SLOT_COUNT } from '../../shared/slot';
import { slotTag } from '../../shared/slot-tags';

/**
 * The demo's write load in one DC: a steady mix of strings with TTLs,
 * counters, capped lists, hashes, sorted sets, sets, MULTI blocks and Lua
 * scripts, on keys `demo:<dc>:{tag}:…` spread over every slot. Each DC writes
 * only its own keys (unitized traffic), as Tandem's users do.
 */
const SCRIPT = "redis.call('INCR', KEYS[1]); redis.call('HSET', KEYS[2], 'last', ARGV[1]); return 1";

export class DemoLoad {
  private timer: NodeJS.Timeout | undefined;
  private n = 0;
  ops = 0;
  errors = 0;
  lastError: string | undefined;

  constructor(private readonly cluster: Cluster, private readonly dc: string, private readonly ratePerSec: number) {}

  start(): void {
    const perTick = Math.max(1, Math.round(this.ratePerSec / 10));
    this.timer = setInterval(() => {
      for (let i = 0; i < perTick; i++) this.one().then(
        () => this.ops++,
        (err: unknown) => {
          this.errors++;
          this.lastError = String(err);
        },
      );
    }, 100);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private one(): Promise<unknown> {
    const n = this.n++;
    const k = (name: string) => `demo:${this.dc}:{${slotTag((n * 7919) % SLOT_COUNT)}}:${name}`;
    const c = this.cluster;
    switch (n % 8) {
      case 0: return c.set(k('session'), `user-${n}`, 'EX', 600);
      case 1: return c.incr(k('visits'));
      case 2: return c.multi().rpush(k('events'), `e${n}`).ltrim(k('events'), -50, -1).exec();
      case 3: return c.hset(k('profile'), 'name', `n${n}`, 'seen', String(Date.now()));
      case 4: return c.zadd(k('scores'), n % 1000, `player-${n % 17}`);
      case 5: return c.sadd(k('tags'), `t${n % 23}`);
      case 6: return c.eval(SCRIPT, 2, k('count'), k('meta'), String(n));
      default: return c.set(k('cache'), `v${n}`, 'PX', 1500); // expires on both sides by itself
    }
  }
}
