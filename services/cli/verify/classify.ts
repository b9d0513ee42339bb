/**
 * How two sides of one key differ, decided from what was read on each side.
 * Pure: the reading is compare.ts's job. The kinds, in the order they are
 * checked (the first that applies is reported):
 *
 *   missing-in-a / missing-in-b   the key exists on one side only
 *   type                          TYPE differs
 *   value                         length differs (mode length), or the value
 *                                 differs (mode full: DUMP bytes, else the
 *                                 order-free content)
 *   ttl                           (mode full) one side has a TTL and the other
 *                                 not, or the PTTLs differ by more than the tolerance
 */
export type DiffKind = 'missing-in-a' | 'missing-in-b' | 'type' | 'value' | 'ttl';
export const DIFF_KINDS: readonly DiffKind[] = ['missing-in-a', 'missing-in-b', 'type', 'value', 'ttl'];

export type VerifyMode = 'full' | 'length' | 'exists';
export const VERIFY_MODES: readonly VerifyMode[] = ['full', 'length', 'exists'];

export interface KeyState {
  /** TYPE's answer: string, list, set, zset, hash, stream, or a module type. */
  type: string;
  /** PTTL: -1 for no expiry. */
  pttl: number;
  /** STRLEN / LLEN / SCARD / ZCARD / HLEN / XLEN (mode length). */
  length?: number;
  /** DUMP payload (mode full). */
  dump?: Buffer;
  /** Order-free content, read only when the DUMP payloads differ (mode full). */
  content?: string;
}

export interface Difference {
  kind: DiffKind;
  detail: string;
}

/** True when the DUMP payloads differ and the content must be read to decide. */
export function needsContent(a: KeyState, b: KeyState): boolean {
  return a.type === b.type && a.dump !== undefined && b.dump !== undefined && !a.dump.equals(b.dump);
}

export function classify(a: KeyState | undefined, b: KeyState | undefined, mode: VerifyMode, ttlToleranceMs: number): Difference | undefined {
  if (a === undefined && b === undefined) return undefined; // gone on both sides (expired or deleted meanwhile)
  if (a === undefined) return { kind: 'missing-in-a', detail: `${b!.type} key exists only in b` };
  if (b === undefined) return { kind: 'missing-in-b', detail: `${a.type} key exists only in a` };
  if (a.type !== b.type) return { kind: 'type', detail: `${a.type} in a, ${b.type} in b` };
  if (mode === 'exists') return undefined;
  if (mode === 'length') {
    if (a.length !== b.length) return { kind: 'value', detail: `${a.type} length ${a.length ?? '?'} in a, ${b.length ?? '?'} in b` };
    return undefined;
  }
  const sameDump = a.dump !== undefined && b.dump !== undefined && a.dump.equals(b.dump);
  if (!sameDump && (a.content === undefined || a.content !== b.content)) {
    return { kind: 'value', detail: `${a.type} values differ` };
  }
  return ttlDifference(a.pttl, b.pttl, ttlToleranceMs);
}

export function ttlDifference(pa: number, pb: number, toleranceMs: number): Difference | undefined {
  const show = (p: number) => (p < 0 ? 'no expiry' : `pttl ${p} ms`);
  if (pa < 0 || pb < 0) return pa < 0 && pb < 0 ? undefined : { kind: 'ttl', detail: `${show(pa)} in a, ${show(pb)} in b` };
  if (Math.abs(pa - pb) > toleranceMs) return { kind: 'ttl', detail: `${show(pa)} in a, ${show(pb)} in b (tolerance ${toleranceMs} ms)` };
  return undefined;
}
