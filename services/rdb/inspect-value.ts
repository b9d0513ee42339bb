import { formatScore } from './format-double';
import { idText, streamInfoFull } from './stream-info';
import type { RdbValue } from './value';

/**
 * A decoded value as JSON, in the layout of `value` in the fixtures'
 * expected.json (and of `tandem rdb inspect`):
 *
 *   string  base64                       list  [base64, ...] in order
 *   set     [base64, ...] sorted          zset  [[base64, score as the server prints it], ...] by rank
 *   hash    [[field, value], ...] sorted by field; RDB >= 12 adds the field expiry (ms or -1)
 *   stream  {entries: [[id, [f, v, ...]], ...], infoFull: XINFO STREAM FULL}
 *   module  null
 *
 * Sorting is on the base64 text, as the fixtures were produced.
 */
export function toInspectValue(value: RdbValue, rdbVersion: number, rdbType: number): unknown {
  const b64 = (b: Buffer): string => b.toString('base64');
  switch (value.type) {
    case 'string':
      return b64(value.value);
    case 'list':
      return value.items.map(b64);
    case 'set':
      return value.members.map(b64).sort();
    case 'zset':
      return value.entries.map((e) => [b64(e.member), formatScore(e.score, rdbVersion)]);
    case 'hash': {
      const rows = value.fields.map((f) => (rdbVersion >= 12 ? [b64(f.field), b64(f.value), f.expireAt] : [b64(f.field), b64(f.value)]));
      return rows.sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : (a[0] as string) > (b[0] as string) ? 1 : 0));
    }
    case 'stream':
      return {
        entries: value.stream.entries.map((e) => [idText(e.id), e.fields.map(b64)]),
        infoFull: streamInfoFull(value.stream, rdbType, (b) => b.toString('utf8')),
      };
    case 'module':
      return null;
  }
}
