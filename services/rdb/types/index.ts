import { loadFolder } from '../../shared/folder-registry';
import { TandemError } from '../../shared/errors';
import type { RdbValue, RedisTypeCodec } from '../type-codec';

export type { RdbValue } from '../type-codec';

/**
 * The table of Redis types: every file of this folder is one type, exporting
 * its codec as `codec` (type-codec.ts), which covers every RDB encoding of the
 * type, and adding its value to RdbValue. To add a Redis type, add its file:
 * the parser, `decodePayload`, `tandem rdb inspect` and `tandem audit` find
 * it through the lookups below.
 *
 * A decoded Redis value is tagged with its TYPE reply. Strings stay Buffers
 * (Redis strings are binary). Collections keep the server's order where it is
 * meaningful (list order, zset rank order, stream ID order) and file order
 * otherwise.
 */
export const REDIS_TYPE_CODECS: readonly RedisTypeCodec<RdbValue>[] = loadFolder(__dirname, 'codec', ['index']);

/** The TYPE reply of a key. */
export type RedisType = RdbValue['type'];

// Both indexes are built once at load; a lookup is one array or map read,
// which the parser does per key on its hot path.
const byRdbType = new Array<RedisTypeCodec<RdbValue> | undefined>(256).fill(undefined); // a type code is one byte
const byName = new Map<string, RedisTypeCodec<RdbValue>>();
for (const c of REDIS_TYPE_CODECS) {
  if (byName.has(c.name)) throw new TandemError('INTERNAL', `two codecs for Redis type ${c.name}`);
  byName.set(c.name, c);
  for (const t of c.rdbTypes) {
    if (byRdbType[t] !== undefined) throw new TandemError('INTERNAL', `RDB type ${t} claimed by both ${byRdbType[t]!.name} and ${c.name}`);
    byRdbType[t] = c;
  }
}

/** The codec for an RDB_TYPE_* code; undefined for codes that are not value types (opcodes, unused codes). */
export function codecOfRdbType(rdbType: number): RedisTypeCodec<RdbValue> | undefined {
  return byRdbType[rdbType];
}

/** The codec that decoded `value` (the union is closed over the table, so there always is one). */
export function codecOfValue<V extends RdbValue>(value: V): RedisTypeCodec<V> {
  return byName.get(value.type) as unknown as RedisTypeCodec<V>;
}

/** The Redis TYPE reply for each object type code; undefined for codes that are not types. */
export function redisTypeOf(rdbType: number): RedisType | undefined {
  return byRdbType[rdbType]?.name;
}
