import Redis, { Cluster } from 'ioredis';
import { classify, needsContent, type DiffKind, type KeyState, type VerifyMode } from './classify';
import type { RateLimiter } from './rate-limit';

export type { DiffKind, VerifyMode } from './classify';

/**
 * Compares two clusters (or standalone servers) key by key, in both
 * directions: every key found by SCAN on the masters of either side is read on
 * both. In mode `full`, equal means the same DUMP payload or, where the bytes
 * differ (a hashtable-encoded set or hash iterates in each server's own,
 * randomly seeded order; encodings may differ between servers), the same type
 * and the same order-free content; and TTLs within a tolerance.
 */
export interface KeyDiff {
  /** The key as UTF-8, or latin1 when it is not valid UTF-8 (then keyBase64 holds the bytes). */
  key: string;
  keyBase64?: string;
  kind: DiffKind;
  detail: string;
}

export type Side = Redis | Cluster;

export interface KeyCompareOptions {
  mode?: VerifyMode;
  ttlToleranceMs?: number;
  limiter?: RateLimiter;
}

export interface CompareOptions extends KeyCompareOptions {
  match?: string;
  /** Keys to compare; default: SCAN both sides. */
  keys?: Buffer[];
}

export function mastersOf(side: Side): Redis[] {
  return side instanceof Cluster ? side.nodes('master') : [side];
}

/** SCAN every master of a side, one batch at a time (memory stays bounded by COUNT). */
export async function* scanKeys(side: Side, o: { match?: string; count?: number; limiter?: RateLimiter } = {}): AsyncGenerator<Buffer[]> {
  for (const node of mastersOf(side)) {
    let cursor = '0';
    do {
      await o.limiter?.take(1);
      const [next, batch] = await node.scanBuffer(cursor, 'MATCH', o.match ?? '*', 'COUNT', o.count ?? 1000);
      cursor = next.toString();
      if (batch.length > 0) yield batch;
    } while (cursor !== '0');
  }
}

export async function scanMasters(side: Side, match = '*'): Promise<Buffer[]> {
  const keys: Buffer[] = [];
  for await (const batch of scanKeys(side, { match })) keys.push(...batch);
  return keys;
}

const LENGTH_COMMAND: Record<string, string> = { string: 'strlen', list: 'llen', set: 'scard', zset: 'zcard', hash: 'hlen', stream: 'xlen' };

/** TYPE and PTTL, plus DUMP (full) or the length (length); undefined when the key does not exist. */
export async function readState(side: Side, key: Buffer, mode: VerifyMode): Promise<KeyState | undefined> {
  const p = side.pipeline().type(key).pttl(key);
  if (mode === 'full') p.dumpBuffer(key);
  const replies = (await p.exec()) ?? [];
  for (const [err] of replies) if (err) throw err;
  const type = String(replies[0][1]);
  if (type === 'none') return undefined;
  const state: KeyState = { type, pttl: Number(replies[1][1]) };
  if (mode === 'full') {
    const dump = replies[2][1] as Buffer | null;
    if (dump === null) return undefined; // deleted between TYPE and DUMP
    state.dump = dump;
  }
  if (mode === 'length' && LENGTH_COMMAND[type]) {
    state.length = Number(await side.call(LENGTH_COMMAND[type], key));
  }
  return state;
}

/** Members of a set or fields of a hash sorted, other types in their own order: the value, order-free. */
export async function readContent(side: Side, key: Buffer, type: string): Promise<string | undefined> {
  const b64 = (bs: Buffer[]) => bs.map((m) => m.toString('base64'));
  switch (type) {
    case 'string': {
      const v = await side.getBuffer(key);
      return v === null ? undefined : v.toString('base64');
    }
    case 'list':
      return JSON.stringify(b64(await side.lrangeBuffer(key, 0, -1)));
    case 'set':
      return JSON.stringify(b64(await side.smembersBuffer(key)).sort());
    case 'hash': {
      const flat = (await side.hgetallBuffer(key)) as unknown as Record<string, Buffer>;
      return JSON.stringify(Object.entries(flat).map(([f, v]) => [f, v.toString('base64')]).sort());
    }
    case 'zset':
      return JSON.stringify(b64(await side.zrangeBuffer(key, 0, -1, 'WITHSCORES')));
    case 'stream':
      return JSON.stringify(await side.xrange(key, '-', '+'));
    default:
      return undefined; // module types: only DUMP can tell
  }
}

export function keyName(key: Buffer): Pick<KeyDiff, 'key' | 'keyBase64'> {
  const utf8 = key.toString('utf8');
  if (Buffer.from(utf8, 'utf8').equals(key)) return { key: utf8 };
  return { key: key.toString('latin1'), keyBase64: key.toString('base64') };
}

/** One key-check: reads the key on both sides and classifies the difference, if any. */
export async function compareKey(a: Side, b: Side, key: Buffer, o: KeyCompareOptions = {}): Promise<KeyDiff | undefined> {
  const mode = o.mode ?? 'full';
  await o.limiter?.take(1);
  const [sa, sb] = await Promise.all([readState(a, key, mode), readState(b, key, mode)]);
  if (sa && sb && needsContent(sa, sb)) {
    [sa.content, sb.content] = await Promise.all([readContent(a, key, sa.type), readContent(b, key, sb.type)]);
  }
  const d = classify(sa, sb, mode, o.ttlToleranceMs ?? 2000);
  return d && { ...keyName(key), ...d };
}

/** One pass over the given keys, or over both sides' SCAN; used by the demo. `tandem verify` adds rounds (verify.ts). */
export async function compareClusters(a: Side, b: Side, o: CompareOptions = {}): Promise<{ keys: number; diffs: KeyDiff[] }> {
  const keys = o.keys ?? [...(await scanMasters(a, o.match)), ...(await scanMasters(b, o.match))];
  const unique = new Map<string, Buffer>();
  for (const k of keys) unique.set(k.toString('latin1'), k);
  const diffs: KeyDiff[] = [];
  for (const key of unique.values()) {
    const d = await compareKey(a, b, key, o);
    if (d) diffs.push(d);
  }
  return { keys: unique.size, diffs };
}
