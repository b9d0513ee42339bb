import { codecOfValue, type RdbValue } from '../../rdb';

/**
 * Readable forms of the bytes in events. An argument is shown as text when it
 * is valid UTF-8 without control characters (other than tab and newline),
 * else as base64; long values are cut to `maxBytes` with their full size noted.
 *
 *   "text"  |  {"base64": "..."}  |  {"text"|"base64": <prefix>, "bytes": N, "truncated": true}

 * (format.ts prints them for humans).
 */
export type ArgJson = string | { base64: string } | { text?: string; base64?: string; bytes: number; truncated: true };

/** Control bytes other than tab (0x09) and newline (0x0a). */
const isControl = (byte: number) => (byte < 0x20 && byte !== 0x09 && byte !== 0x0a) || byte === 0x7f;

export function isPrintable(b: Buffer): boolean {
  return !b.some(isControl) && Buffer.from(b.toString('utf8'), 'utf8').equals(b);
}

export function argJson(b: Buffer, maxBytes = Infinity): ArgJson {
  const cut = b.length > maxBytes ? b.subarray(0, maxBytes) : b;
  // Cutting may split a UTF-8 sequence; judge printability on the whole value.
  const text = isPrintable(b);
  if (cut.length < b.length) {
    return text ? { text: cut.toString('utf8').replace(/\uFFFD+$/, ''), bytes: b.length, truncated: true } : { base64: cut.toString('base64'), bytes: b.length, truncated: true };
  }
  return text ? b.toString('utf8') : { base64: b.toString('base64') };
}

/** A decoded RESTORE payload in the same readable form (each type's layout is its codec's `readable`, rdb/types/<type>.ts). */
export function readableValue(v: RdbValue, maxBytes = Infinity): unknown {
  return codecOfValue(v).readable(v, (b) => argJson(b, maxBytes));
}
