import type { Cluster } from 'ioredis';

/**
 * A key's content in a form that two servers can be compared on. DUMP bytes
 * are compared where they are deterministic; for hashtable-encoded sets and
 * hashes (and for listpack/hashtable mixes) the element order inside DUMP
 * follows each server's randomly seeded dict, so two servers holding the same
 * value may DUMP different bytes. So the value itself is read, normalised
 * (members sorted), alongside the encoding and the TTL.
 */
export interface KeyContent {
  type: string;
  encoding: string | null;
  value: unknown;
  pttl: number;
}

export async function readKey(c: Cluster, key: string): Promise<KeyContent> {
  const type = await c.type(key);
  const encoding = type === 'none' ? null : ((await c.object('ENCODING', key)) as string | null);
  const pttl = await c.pttl(key);
  let value: unknown;
  switch (type) {
    case 'none': value = null; break;
    case 'string': value = (await c.getBuffer(key))?.toString('base64'); break;
    case 'list': value = await c.lrange(key, 0, -1); break;
    case 'set': value = (await c.smembers(key)).sort(); break;
    case 'zset': value = await c.zrange(key, 0, -1, 'WITHSCORES'); break;
    case 'hash': value = Object.entries(await c.hgetall(key)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)); break;
    case 'stream':
      value = {
        entries: await c.xrange(key, '-', '+'),
        groups: await c.xinfo('GROUPS', key),
      };
      break;
    default: value = (await c.dumpBuffer(key))?.toString('base64');
  }
  return { type, encoding, value, pttl };
}

/** Equal content, with TTLs within `ttlToleranceMs` (-1 and -2 must match exactly). */
export function sameContent(x: KeyContent, y: KeyContent, ttlToleranceMs = 5000): boolean {
  const { pttl: tx, ...restX } = x;
  const { pttl: ty, ...restY } = y;
  const ttlOk = tx < 0 || ty < 0 ? tx === ty : Math.abs(tx - ty) <= ttlToleranceMs;
  return ttlOk && JSON.stringify(restX) === JSON.stringify(restY);
}
