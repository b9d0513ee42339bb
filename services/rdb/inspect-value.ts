import { codecOfValue, type RdbValue } from './types';

/**
 * A decoded value as JSON, in the layout of `value` in the fixtures'
 * expected.json (and of `tandem rdb inspect`); each type's layout is its
 * codec's `inspect` (types/<type>.ts):
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
  return codecOfValue(value).inspect(value, rdbVersion, rdbType);
}
