import { dbsize, type ClusterNodes } from './cluster-nodes';

/**
 * What the e2e loads share: the replicator under test as a load sees it, the
 * result of one load, and the wait until every write is visible in b.
 */
export interface Replicator {
  name: string;
  /** the measured processes, by role (RSS) */
  pids: Record<string, number | undefined>;
  /**
   * Keys the replicator adds in b per slot it writes: Tandem's sink keeps one
   * anti-loop marker per (slot, origin) (services/shared/marker.ts), RedisShake none.
   */
  keysPerSlot: number;
  /** throws when one of its processes has exited */
  check(): void;
}

export interface LoadResult {
  load: string;
  replicator: Replicator['name'];
  /** writes/s asked for; null: as fast as redis-cli --pipe goes */
  targetRate: number | null;
  /** writes acknowledged by a */
  writes: number;
  errors: number;
  writeSeconds: number;
  /** writes acknowledged by a per second, over the writing time */
  writeRate: number;
  /** seconds from the load's start until every write was visible in b; null: not within the bound */
  visibleS: number | null;
  /** writes / visibleS */
  replicatedRate: number;
  /** probes sent (paced loads), lost: never seen in b */
  probes: number;
  lost: number;
  p50: number;
  p99: number;
  max: number;
  /** peak RSS (MiB) per process role over the load */
  rss: Record<string, number>;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const nowMs = () => performance.now();

export function log(line: string): void {
  console.error(`[${new Date().toISOString().slice(11, 23)}] ${line}`);
}

export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** The slot bitmap's population: how many distinct slots a load wrote. */
export function slotsTouched(slots: Uint8Array): number {
  let n = 0;
  for (const s of slots) n += s;
  return n;
}

const VISIBLE_POLL_MS = 20;

/**
 * Polls DBSIZE summed over b's masters every 20 ms until it reaches `expected`
 * (the load's keys are distinct and both clusters were emptied before it);
 * returns that moment (performance.now()), or null once past `deadline`.
 * `target` is read at every poll: a caller that starts polling with its writes
 * sets the count and the bound once the writes are done.
 */
export interface VisibleTarget {
  expected: number;
  deadline: number;
}

export async function waitAllVisible(b: ClusterNodes, target: VisibleTarget, replicator: Replicator): Promise<{ at: number | null; last: number }> {
  let last = 0;
  let checked = nowMs();
  while (nowMs() < target.deadline) {
    last = await dbsize(b);
    if (last >= target.expected) return { at: nowMs(), last };
    if (nowMs() - checked > 1000) {
      replicator.check();
      checked = nowMs();
    }
    await sleep(VISIBLE_POLL_MS);
  }
  return { at: null, last };
}
