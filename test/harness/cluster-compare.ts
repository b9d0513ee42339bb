import type { Cluster } from 'ioredis';
import { compareClusters as compareBothWays, scanMasters } from '../../services/cli/verify/compare';

/**
 * Test-side view of `tandem verify`'s comparison (services/cli/verify/compare.ts):
 * the keys matching `pattern` in two clusters, compared both ways (DUMP, or the
 * order-free value where DUMP order differs, and PTTL within `ttlToleranceMs`).
 * Returns the differences as readable lines (empty when the clusters agree).
 */
export async function scanKeys(cluster: Cluster, pattern: string): Promise<Buffer[]> {
  return scanMasters(cluster, pattern);
}

export async function compareClusters(a: Cluster, b: Cluster, pattern: string, ttlToleranceMs = 2000): Promise<{ keys: number; diffs: string[] }> {
  const { keys, diffs } = await compareBothWays(a, b, { match: pattern, ttlToleranceMs });
  return { keys, diffs: diffs.map((d) => `${d.key}: ${d.kind} (${d.detail})`) };
}
