import Redis, { type Cluster } from 'ioredis';

/**
 * Compares two clusters key by key, in both directions: every key found by
 * SCAN on the masters of either side is read on both. Equal means the same
 * DUMP payload, or, where DUMP bytes differ only because a hashtable-encoded
 * set or hash iterates in each server's own (randomly seeded) order, the same
 * type and the same members; and TTLs within a tolerance.
 */
export type DiffKind = 'missing-in-a' | 'missing-in-b' | 'type' | 'value' | 'ttl';

export interface KeyDiff {
  key: string;
  kind: DiffKind;
  detail: string;
}

export interface CompareOptions {
  match?: string;
  ttlToleranceMs?: number;
  /** Keys to compare; default: SCAN both sides. */
  keys?: Buffer[];
}

export async function scanMasters(cluster: Cluster, match = '*'): Promise<Buffer[]> {
  const keys: Buffer[] = [];
  for (const node of cluster.nodes('master')) {
    let cursor = '0';
    do {
      const [next, batch] = await (node as Redis).scanBuffer(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next.toString();
      keys.push(...batch);
    } while (cursor !== '0');
  }
  return keys;
}

/** Members of a set or fields of a hash, sorted: the order-free content of a hashtable type. */
async function unorderedContent(c: Cluster, key: Buffer, type: string): Promise<string | undefined> {
  if (type === 'set') return JSON.stringify((await c.smembersBuffer(key)).map((m) => m.toString('base64')).sort());
  if (type === 'hash') {
    const flat = (await c.hgetallBuffer(key)) as unknown as Record<string, Buffer>;
    return JSON.stringify(Object.entries(flat).map(([f, v]) => [f, v.toString('base64')]).sort());
  }
  if (type === 'zset') return JSON.stringify(await c.zrange(key, 0, -1, 'WITHSCORES'));
  return undefined;
}

export async function compareKey(a: Cluster, b: Cluster, key: Buffer, ttlToleranceMs: number): Promise<KeyDiff | undefined> {
  const name = key.toString('latin1');
  const [da, db] = await Promise.all([a.dumpBuffer(key), b.dumpBuffer(key)]);
  if (da === null && db === null) return undefined; // gone on both sides (expired or deleted meanwhile)
  if (da === null) return { key: name, kind: 'missing-in-a', detail: 'key exists only in b' };
  if (db === null) return { key: name, kind: 'missing-in-b', detail: 'key exists only in a' };
  if (!da.equals(db)) {
    const [ta, tb] = await Promise.all([a.type(key), b.type(key)]);
    if (ta !== tb) return { key: name, kind: 'type', detail: `${ta} in a, ${tb} in b` };
    const [ua, ub] = await Promise.all([unorderedContent(a, key, ta), unorderedContent(b, key, tb)]);
    if (ua === undefined || ua !== ub) return { key: name, kind: 'value', detail: `${ta} values differ` };
  }
  const [pa, pb] = await Promise.all([a.pttl(key), b.pttl(key)]);
  if ((pa < 0 || pb < 0) ? pa !== pb : Math.abs(pa - pb) > ttlToleranceMs) {
    return { key: name, kind: 'ttl', detail: `pttl ${pa} in a, ${pb} in b` };
  }
  return undefined;
}

export async function compareClusters(a: Cluster, b: Cluster, o: CompareOptions = {}): Promise<{ keys: number; diffs: KeyDiff[] }> {
  const keys = o.keys ?? [...(await scanMasters(a, o.match)), ...(await scanMasters(b, o.match))];
  const unique = new Map<string, Buffer>();
  for (const k of keys) unique.set(k.toString('latin1'), k);
  const diffs: KeyDiff[] = [];
  for (const key of unique.values()) {
    const d = await compareKey(a, b, key, o.ttlToleranceMs ?? 2000);
    if (d) diffs.push(d);
  }
  return { keys: unique.size, diffs };
}
