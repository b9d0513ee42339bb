import Redis from 'ioredis';
import type { Cluster } from 'ioredis';

/**
 * Compares the keys matching `pattern` in two clusters: DUMP payloads must be
 * equal and PTTLs within `ttlToleranceMs`. Returns the differences (empty when
 * the clusters agree).
 */
export async function scanKeys(cluster: Cluster, pattern: string): Promise<Buffer[]> {
  const keys: Buffer[] = [];
  for (const node of cluster.nodes('master')) {
    let cursor = '0';
    do {
      const [next, batch] = await (node as Redis).scanBuffer(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next.toString();
      keys.push(...batch);
    } while (cursor !== '0');
  }
  return keys;
}

export async function compareClusters(a: Cluster, b: Cluster, pattern: string, ttlToleranceMs = 2000): Promise<{ keys: number; diffs: string[] }> {
  const keysA = await scanKeys(a, pattern);
  const keysB = await scanKeys(b, pattern);
  const all = new Map<string, Buffer>();
  for (const k of [...keysA, ...keysB]) all.set(k.toString('latin1'), k);
  const diffs: string[] = [];
  for (const [name, key] of all) {
    const [da, db, ta, tb] = await Promise.all([a.dumpBuffer(key), b.dumpBuffer(key), a.pttl(key), b.pttl(key)]);
    if (da === null && db === null) continue; // expired on both sides meanwhile
    if (da === null || db === null || !da.equals(db)) {
      diffs.push(`${name}: ${da === null ? 'missing in a' : db === null ? 'missing in b' : 'values differ'}`);
      continue;
    }
    if ((ta < 0) !== (tb < 0) || Math.abs(ta - tb) > ttlToleranceMs) diffs.push(`${name}: pttl ${ta} vs ${tb}`);
  }
  return { keys: all.size, diffs };
}
