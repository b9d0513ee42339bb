/**
 * Doubles as a Redis server prints them in replies (ZSCORE, ZRANGE WITHSCORES).
 *
 * - Redis <= 7.0 (RDB <= 10): addReplyDouble uses printf("%.17g").
 * - Redis 7.2+ and Valkey (RDB >= 11): fpconv_dtoa (deps/fpconv), a Grisu2
 *   port. Grisu2 is not always shortest (about 0.3% of scores get a 17th
 *   digit that JS's shortest round-trip would drop), so it is reproduced
 *   bit for bit here, including its own exponent formatting ("4.9e+5").
 *
 * Both round-trip: parseFloat(result) === d for finite d.
 */
export function formatScore(d: number, rdbVersion: number): string {
  return rdbVersion >= 11 ? fpconvDtoa(d) : formatG17(d);
}

/** printf("%.17g", d) as glibc formats it. */
export function formatG17(d: number): string {
  if (Number.isNaN(d)) return 'nan';
  if (!Number.isFinite(d)) return d > 0 ? 'inf' : '-inf';
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  const [mantissa, expText] = d.toExponential(16).split('e');
  const x = Number(expText);
  if (x < -4 || x >= 17) {
    const m = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
    return `${m}e${x < 0 ? '-' : '+'}${String(Math.abs(x)).padStart(2, '0')}`;
  }
  const fixed = d.toFixed(16 - x);
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

const MASK64 = (1n << 64n) - 1n;
const FRAC_MASK = 0x000fffffffffffffn;
const EXP_MASK = 0x7ff0000000000000n;
const HIDDEN_BIT = 0x0010000000000000n;
const SIGN_MASK = 0x8000000000000000n;
const EXP_BIAS = 1023 + 52;
const NPOWERS = 87;
const STEPPOWERS = 8;
const FIRSTPOWER = -348;
const EXPMAX = -32;
const EXPMIN = -60;

interface Fp {
  frac: bigint;
  exp: number;
}

/** fpconv's powers_ten table: 10^k for k = -348, -340, ..., 340 as 64-bit normalized, rounded. */
const POWERS_TEN: Fp[] = (() => {
  const out: Fp[] = [];
  for (let i = 0; i < NPOWERS; i++) {
    const k = FIRSTPOWER + i * STEPPOWERS;
    // Find e with 10^k / 2^e in [2^63, 2^64), then round to nearest.
    const num = k >= 0 ? 10n ** BigInt(k) : 1n;
    const den = k >= 0 ? 1n : 10n ** BigInt(-k);
    let e = Math.floor(k * Math.log2(10)) - 63;
    for (;;) {
      const [n, dd] = e >= 0 ? [num, den << BigInt(e)] : [num << BigInt(-e), den];
      const q = n / dd;
      if (q >= 1n << 64n) e++;
      else if (q < 1n << 63n) e--;
      else {
        const rem = n - q * dd;
        const frac = rem * 2n >= dd ? q + 1n : q;
        out.push({ frac, exp: e });
        break;
      }
    }
  }
  return out;
})();

const TENS: bigint[] = Array.from({ length: 20 }, (_, i) => 10n ** BigInt(19 - i));

function bitsOf(d: number): bigint {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, d);
  return view.getBigUint64(0);
}

function buildFp(d: number): Fp {
  const bits = bitsOf(d);
  const frac = bits & FRAC_MASK;
  const exp = Number((bits & EXP_MASK) >> 52n);
  return exp ? { frac: frac + HIDDEN_BIT, exp: exp - EXP_BIAS } : { frac, exp: -EXP_BIAS + 1 };
}

function normalize(fp: Fp): Fp {
  let { frac, exp } = fp;
  while ((frac & HIDDEN_BIT) === 0n) {
    frac <<= 1n;
    exp--;
  }
  return { frac: (frac << 11n) & MASK64, exp: exp - 11 };
}

function normalizedBoundaries(fp: Fp): { lower: Fp; upper: Fp } {
  let ufrac = (fp.frac << 1n) + 1n;
  let uexp = fp.exp - 1;
  while ((ufrac & (HIDDEN_BIT << 1n)) === 0n) {
    ufrac <<= 1n;
    uexp--;
  }
  ufrac = (ufrac << 10n) & MASK64;
  uexp -= 10;
  const lshift = fp.frac === HIDDEN_BIT ? 2 : 1;
  let lfrac = (fp.frac << BigInt(lshift)) - 1n;
  const lexp = fp.exp - lshift;
  lfrac = (lfrac << BigInt(lexp - uexp)) & MASK64;
  return { lower: { frac: lfrac, exp: uexp }, upper: { frac: ufrac, exp: uexp } };
}

function multiply(a: Fp, b: Fp): Fp {
  const lo = 0xffffffffn;
  const ahBl = (a.frac >> 32n) * (b.frac & lo);
  const alBh = (a.frac & lo) * (b.frac >> 32n);
  const alBl = (a.frac & lo) * (b.frac & lo);
  const ahBh = (a.frac >> 32n) * (b.frac >> 32n);
  let tmp = (ahBl & lo) + (alBh & lo) + (alBl >> 32n);
  tmp += 1n << 31n; // round up
  return { frac: (ahBh + (ahBl >> 32n) + (alBh >> 32n) + (tmp >> 32n)) & MASK64, exp: a.exp + b.exp + 64 };
}

function cachedPow10(exp: number): { cp: Fp; k: number } {
  const oneLogTen = 0.30102999566398114;
  const approx = Math.trunc(-(exp + NPOWERS) * oneLogTen);
  let idx = Math.trunc((approx - FIRSTPOWER) / STEPPOWERS);
  for (;;) {
    const current = exp + POWERS_TEN[idx].exp + 64;
    if (current < EXPMIN) idx++;
    else if (current > EXPMAX) idx--;
    else return { cp: POWERS_TEN[idx], k: FIRSTPOWER + idx * STEPPOWERS };
  }
}

function roundDigit(digits: number[], delta: bigint, rem: bigint, kappa: bigint, frac: bigint): void {
  const n = digits.length;
  while (rem < frac && delta - rem >= kappa && (rem + kappa < frac || frac - rem > rem + kappa - frac)) {
    digits[n - 1]--;
    rem += kappa;
  }
}

function generateDigits(fp: Fp, upper: Fp, lower: Fp): { digits: number[]; K: number } {
  const wfrac = (upper.frac - fp.frac) & MASK64;
  let delta = (upper.frac - lower.frac) & MASK64;
  const shift = BigInt(-upper.exp);
  const one = 1n << shift;
  let part1 = upper.frac >> shift;
  let part2 = upper.frac & (one - 1n);
  const digits: number[] = [];
  let K = 0;
  let kappa = 10;
  for (let d = 10; kappa > 0; d++) {
    const div = TENS[d];
    const digit = part1 / div;
    if (digit !== 0n || digits.length > 0) digits.push(Number(digit));
    part1 -= digit * div;
    kappa--;
    const tmp = (part1 << shift) + part2;
    if (tmp <= delta) {
      K += kappa;
      roundDigit(digits, delta, tmp, (div << shift) & MASK64, wfrac);
      return { digits, K };
    }
  }
  let unit = 18;
  for (;;) {
    part2 = (part2 * 10n) & MASK64;
    delta = (delta * 10n) & MASK64;
    kappa--;
    const digit = part2 >> shift;
    if (digit !== 0n || digits.length > 0) digits.push(Number(digit));
    part2 &= one - 1n;
    if (part2 < delta) {
      K += kappa;
      roundDigit(digits, delta, part2, one, (wfrac * TENS[unit]) & MASK64);
      return { digits, K };
    }
    unit--;
  }
}

function emitDigits(digits: number[], K: number, neg: boolean): string {
  let nd = digits.length;
  const text = digits.join('');
  let exp = Math.abs(K + nd - 1);
  if (K >= 0 && exp < nd + 7) return text + '0'.repeat(K);
  if (K < 0 && (K > -7 || exp < 4)) {
    const offset = nd - Math.abs(K);
    if (offset <= 0) return `0.${'0'.repeat(-offset)}${text}`;
    return `${text.slice(0, offset)}.${text.slice(offset)}`;
  }
  nd = Math.min(nd, 18 - (neg ? 1 : 0));
  let out = text[0];
  if (nd > 1) out += `.${text.slice(1, nd)}`;
  out += K + nd - 1 < 0 ? 'e-' : 'e+';
  // fpconv writes the exponent without padding, but with a 0 tens digit for 3-digit exponents.
  let cent = 0;
  if (exp > 99) {
    cent = Math.floor(exp / 100);
    out += String(cent);
    exp -= cent * 100;
  }
  if (exp > 9) {
    const dec = Math.floor(exp / 10);
    out += String(dec);
    exp -= dec * 10;
  } else if (cent) out += '0';
  return out + String(exp % 10);
}

/** fpconv_dtoa (Redis 7.2+ deps/fpconv/fpconv_dtoa.c). */
export function fpconvDtoa(d: number): string {
  const neg = (bitsOf(d) & SIGN_MASK) !== 0n;
  const sign = neg ? '-' : '';
  if (Number.isNaN(d)) return `${sign}nan`;
  if (!Number.isFinite(d)) return `${sign}inf`;
  if (d === 0) return `${sign}0`;
  const w = buildFp(d);
  const { lower, upper } = normalizedBoundaries(w);
  const nw = normalize(w);
  const { cp, k } = cachedPow10(upper.exp);
  const mw = multiply(nw, cp);
  const mu = multiply(upper, cp);
  const ml = multiply(lower, cp);
  ml.frac = (ml.frac + 1n) & MASK64;
  mu.frac = (mu.frac - 1n) & MASK64;
  const { digits, K } = generateDigits(mw, mu, ml);
  return sign + emitDigits(digits, K - k, neg);
}
