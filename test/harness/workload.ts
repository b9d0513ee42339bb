import type { Cluster } from 'ioredis';
import { SLOT_COUNT } from '../../services/shared/slot';
import { slotTag } from '../../services/shared/slot-tags';

/**
 * A mixed write workload for a real cluster, spread over every master by
 * using hash tags of many slots: strings with TTLs, lists, sets, zsets,
 * hashes, streams with consumer groups, MULTI/EXEC, EVAL with several writes,
 * and keys that expire while it runs (their DELs are in the stream too).
 * Bounded in time and count; it stops by itself.
 */
export interface WorkloadStats {
  operations: number;
  errors: string[];
}

const SCRIPT = `redis.call('INCR', KEYS[1]); redis.call('RPUSH', KEYS[2], ARGV[1]); redis.call('HSET', KEYS[3], 'f', ARGV[1]); return 1`;

export async function mixedWorkload(cluster: Cluster, prefix: string, durationMs: number, maxOps = 1_000_000): Promise<WorkloadStats> {
  const stats: WorkloadStats = { operations: 0, errors: [] };
  const deadline = Date.now() + durationMs;
  let i = 0;
  while (Date.now() < deadline && stats.operations < maxOps) {
    const batch: Promise<unknown>[] = [];
    for (let n = 0; n < 50; n++, i++) {
      const tag = slotTag((i * 7919) % SLOT_COUNT);
      const k = (name: string) => `${prefix}:{${tag}}:${name}`;
      switch (i % 12) {
        case 0: batch.push(cluster.set(k('s'), `v${i}`, 'EX', 300)); break;
        case 1: batch.push(cluster.set(k('exp'), 'x', 'PX', 50)); break; // expires during the run: a DEL
        case 2: batch.push(cluster.rpush(k('l'), `e${i}`, `f${i}`)); break;
        case 3: batch.push(cluster.sadd(k('set'), `m${i % 97}`)); break;
        case 4: batch.push(cluster.zadd(k('z'), i % 1000, `m${i % 53}`)); break;
        case 5: batch.push(cluster.hset(k('h'), `f${i % 31}`, `v${i}`)); break;
        case 6: batch.push(cluster.xadd(k('x'), 'MAXLEN', '~', '1000', '*', 'n', String(i))); break;
        case 7:
          batch.push(
            cluster.xgroup('CREATE', k('x'), 'g', '0', 'MKSTREAM').catch((e: Error) => {
              if (!/BUSYGROUP/.test(e.message)) throw e;
            }).then(() => cluster.xreadgroup('GROUP', 'g', 'c', 'COUNT', 2, 'STREAMS', k('x'), '>'))
              .then((r) => {
                const ids = ((r as [string, [string, string[]][]][] | null)?.[0]?.[1] ?? []).map(([id]) => id);
                return ids.length ? cluster.xack(k('x'), 'g', ...ids) : 0;
              }),
          );
          break;
        case 8: batch.push(cluster.multi().incr(k('c')).lpush(k('l2'), String(i)).expire(k('l2'), 600).exec()); break;
        case 9: batch.push(cluster.eval(SCRIPT, 3, k('ec'), k('el'), k('eh'), String(i))); break;
        case 10: batch.push(cluster.incrbyfloat(k('f'), 0.5)); break;
        default: batch.push(cluster.del(k('s'))); break;
      }
    }
    const results = await Promise.allSettled(batch);
    for (const r of results) {
      stats.operations++;
      if (r.status === 'rejected' && stats.errors.length < 20) stats.errors.push(String(r.reason));
    }
  }
  return stats;
}
