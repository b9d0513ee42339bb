/**
 * Redis glob matching on bytes, as KEYS / SCAN MATCH do (redis/src/util.c
 * stringmatchlen): `*` any run, `?` one byte, `[abc]`, `[^abc]`, `[a-z]`, and
 * `\` escapes the next byte. Keys are binary, so both sides are Buffers.
 */
export function globMatch(pattern: Buffer, key: Buffer): boolean {
  return matchAt(pattern, 0, key, 0);
}

const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const BACKSLASH = 0x5c;
const CARET = 0x5e;
const DASH = 0x2d;

function matchAt(p: Buffer, pi: number, s: Buffer, si: number): boolean {
  while (pi < p.length) {
    const c = p[pi];
    if (c === STAR) {
      while (pi + 1 < p.length && p[pi + 1] === STAR) pi++;
      if (pi + 1 === p.length) return true;
      for (let k = si; k <= s.length; k++) if (matchAt(p, pi + 1, s, k)) return true;
      return false;
    }
    if (si >= s.length) return false;
    if (c === QUESTION) {
      pi++;
      si++;
      continue;
    }
    if (c === OPEN) {
      const r = matchClass(p, pi + 1, s[si]);
      if (!r.matched) return false;
      pi = r.next;
      si++;
      continue;
    }
    if (c === BACKSLASH && pi + 1 < p.length) pi++;
    if (p[pi] !== s[si]) return false;
    pi++;
    si++;
  }
  return si === s.length;
}

/** A `[...]` class starting after the `[`; an unterminated class runs to the pattern's end, as in Redis. */
function matchClass(p: Buffer, i: number, b: number): { matched: boolean; next: number } {
  const not = p[i] === CARET;
  if (not) i++;
  let matched = false;
  while (i < p.length && p[i] !== CLOSE) {
    if (p[i] === BACKSLASH && i + 1 < p.length) {
      i++;
      if (p[i] === b) matched = true;
      i++;
    } else if (i + 2 < p.length && p[i + 1] === DASH && p[i + 2] !== CLOSE) {
      let lo = p[i];
      let hi = p[i + 2];
      if (lo > hi) [lo, hi] = [hi, lo];
      if (b >= lo && b <= hi) matched = true;
      i += 3;
    } else {
      if (p[i] === b) matched = true;
      i++;
    }
  }
  return { matched: not ? !matched : matched, next: i < p.length ? i + 1 : i };
}

/** True when the pattern has no wildcard: it names one key, hence one slot. */
export function isLiteralPattern(pattern: Buffer): boolean {
  return !pattern.some((b) => b === STAR || b === QUESTION || b === OPEN || b === BACKSLASH);
}
