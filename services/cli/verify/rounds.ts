import { DIFF_KINDS, type DiffKind, type VerifyMode } from './classify';
import { isReservedKey } from '../../shared/marker';
import { compareKey, scanKeys, type KeyDiff, type Side } from './compare';
import { RateLimiter } from './rate-limit';
import { sleep } from '../../shared/retry';

/**
 * `tandem verify`'s algorithm, after redis-full-check but both ways in one run:
 *
 * Round 1 SCANs a and compares every key with b (finds missing-in-b, type,
 * value, ttl), then SCANs b and, for each key a lacks (EXISTS), compares it
 * again (finds missing-in-a). Each later round waits `pauseMs` and re-checks
 * only the keys that differed in the round before, so a write still in flight
 * through Kafka when it was first seen does not count as divergence. What
 * differs after the last round is the result. Memory holds only the
 * differing keys, never the keyspace.
 */
export interface VerifyOptions {
  mode: VerifyMode;
  match: string;
  rounds: number;
  pauseMs: number;
  /** key-checks (and SCAN calls) per second, across both sides */
  qps: number;
  scanCount: number;
  ttlToleranceMs: number;
  includeMarkers: boolean;
  /** key-checks in flight at once */
  concurrency?: number;
  onRound?: (r: RoundResult) => void;
}

export interface RoundResult {
  round: number;
  checked: number;
  differing: number;
  elapsedMs: number;
}

export interface VerifyResult {
  scanned: { a: number; b: number };
  compared: number;
  rounds: RoundResult[];
  diffs: KeyDiff[];
  byKind: Record<DiffKind, number>;
  elapsedMs: number;
}

export async function verifyClusters(a: Side, b: Side, o: VerifyOptions): Promise<VerifyResult> {
  const started = Date.now();
  const limiter = new RateLimiter(o.qps);
  const keyOpts = { mode: o.mode, ttlToleranceMs: o.ttlToleranceMs, limiter };
  const concurrency = o.concurrency ?? 16;
  // Every key under the reserved prefix (the markers, which legitimately differ per DC, DESIGN §3): Tandem's bookkeeping, not data.
  const keep = (k: Buffer) => o.includeMarkers || !isReservedKey(k);
  const scanned = { a: 0, b: 0 };
  let compared = 0;
  const rounds: RoundResult[] = [];

  // Round 1: the full two-way scan.
  let pending = new Map<string, { key: Buffer; diff: KeyDiff }>();
  const record = (key: Buffer, d: KeyDiff | undefined) => {
    if (d) pending.set(key.toString('latin1'), { key, diff: d });
  };
  const roundStart = Date.now();
  for await (const batch of scanKeys(a, { match: o.match, count: o.scanCount, limiter })) {
    const keys = batch.filter(keep);
    scanned.a += keys.length;
    compared += keys.length;
    await inPool(keys, concurrency, async (k) => record(k, await compareKey(a, b, k, keyOpts)));
  }
  for await (const batch of scanKeys(b, { match: o.match, count: o.scanCount, limiter })) {
    const keys = batch.filter(keep);
    scanned.b += keys.length;
    await inPool(keys, concurrency, async (k) => {
      await limiter.take(1);
      if ((await a.exists(k)) === 1) return; // compared from a's side already
      compared++;
      record(k, await compareKey(a, b, k, keyOpts));
    });
  }
  rounds.push({ round: 1, checked: compared, differing: pending.size, elapsedMs: Date.now() - roundStart });
  o.onRound?.(rounds[0]);

  // Later rounds: re-check only what differed in the round before.
  for (let round = 2; round <= o.rounds && pending.size > 0; round++) {
    await sleep(o.pauseMs);
    const t = Date.now();
    const keys = [...pending.values()].map((p) => p.key);
    pending = new Map();
    await inPool(keys, concurrency, async (k) => record(k, await compareKey(a, b, k, keyOpts)));
    rounds.push({ round, checked: keys.length, differing: pending.size, elapsedMs: Date.now() - t });
    o.onRound?.(rounds[rounds.length - 1]);
  }
  const diffs = [...pending.values()].map((p) => p.diff).sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));

  const byKind = Object.fromEntries(DIFF_KINDS.map((k) => [k, 0])) as Record<DiffKind, number>;
  for (const d of diffs) byKind[d.kind]++;
  return { scanned, compared, rounds, diffs, byKind, elapsedMs: Date.now() - started };
}

/** Runs `fn` over items with at most `limit` in flight; the first error stops the pool and is rethrown. */
async function inPool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
