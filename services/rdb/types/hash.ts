import type { ByteWindow, Walk } from '../byte-window';
import type { BufferReader } from '../encodings/buffer-reader';
import { decodeListpack } from '../encodings/listpack';
import { packedToBuffer, packedToNumber } from '../encodings/packed-value';
import { decodeZiplist } from '../encodings/ziplist';
import { decodeZipmap } from '../encodings/zipmap';
import {
  RDB_TYPE_HASH,
  RDB_TYPE_HASH_LISTPACK,
  RDB_TYPE_HASH_LISTPACK_EX,
  RDB_TYPE_HASH_LISTPACK_EX_PRE_GA,
  RDB_TYPE_HASH_METADATA,
  RDB_TYPE_HASH_METADATA_PRE_GA,
  RDB_TYPE_HASH_ZIPLIST,
  RDB_TYPE_HASH_ZIPMAP,
} from '../opcodes';
import type { RedisTypeCodec } from '../type-codec';

/*
 * RDB_TYPE_HASH (4):                    <len> (<string: field> <string: value>){len}
 * RDB_TYPE_HASH_ZIPMAP (9):             <string: zipmap>
 * RDB_TYPE_HASH_ZIPLIST (13):           <string: ziplist of field, value, ...>
 * RDB_TYPE_HASH_LISTPACK (16):          <string: listpack of field, value, ...>
 * RDB_TYPE_HASH_METADATA_PRE_GA (22):   <len> (<len: ttl ms or 0> <string: field> <string: value>){len}
 * RDB_TYPE_HASH_METADATA (24):          <8 bytes: min expire ms> <len> (<len: ttl> <string> <string>){len}
 *                                       ttl = 0 (no TTL) or expire - minExpire + 1
 * RDB_TYPE_HASH_LISTPACK_EX_PRE_GA (23): <string: listpack of field, value, ttl ms or 0, ...>
 * RDB_TYPE_HASH_LISTPACK_EX (25):       <8 bytes: min expire ms> <string: listpack of field, value, ttl, ...>
 *
 * Types 22-25 carry Redis 7.4 hash field expiry (HEXPIRE); see rdb.c rdbLoadObject.
 */

/** The fields in file order. */
export interface HashValue {
  type: 'hash';
  fields: HashField[];
}

// The value of a 'hash' key, in RdbValue (type-codec.ts); `codec` below registers the type itself.
declare module '../type-codec' { interface RedisTypeValues { hash: HashValue } }

export interface HashField {
  field: Buffer;
  value: Buffer;
  /** Field expiry (Redis 7.4 hash field TTL) in unix ms, or -1. */
  expireAt: number;
}

function* walkHash(w: ByteWindow, rdbType: number): Walk {
  if (rdbType === RDB_TYPE_HASH_METADATA || rdbType === RDB_TYPE_HASH_LISTPACK_EX) {
    if (w.avail() >= 8) w.pos += 8;
    else yield* w.skip(8, 'hash min expire time');
  }
  if (rdbType !== RDB_TYPE_HASH && rdbType !== RDB_TYPE_HASH_METADATA && rdbType !== RDB_TYPE_HASH_METADATA_PRE_GA) {
    return yield* w.skipString('hash blob');
  }
  const withTtl = rdbType !== RDB_TYPE_HASH;
  let n = w.tryLen('hash size');
  if (n === undefined) n = yield* w.len('hash size');
  for (let i = 0; i < n; i++) {
    if (withTtl && w.tryLen('hash field ttl') === undefined) yield* w.len('hash field ttl');
    if (!w.trySkipString('hash field')) yield* w.skipString('hash field');
    if (!w.trySkipString('hash value')) yield* w.skipString('hash value');
  }
}

function decodeHash(r: BufferReader, rdbType: number): HashValue {
  const fields: HashField[] = [];
  const push = (field: Buffer, value: Buffer, expireAt = -1): void => {
    fields.push({ field, value, expireAt });
  };
  switch (rdbType) {
    case RDB_TYPE_HASH: {
      const n = r.count('hash size');
      for (let i = 0; i < n; i++) push(r.string('hash field'), r.string('hash value'));
      break;
    }
    case RDB_TYPE_HASH_METADATA:
    case RDB_TYPE_HASH_METADATA_PRE_GA: {
      const minExpire = rdbType === RDB_TYPE_HASH_METADATA ? r.millis('hash min expire time') : 0;
      const n = r.count('hash size');
      for (let i = 0; i < n; i++) {
        const ttl = r.len('hash field ttl');
        const field = r.string('hash field');
        const value = r.string('hash value');
        const expireAt = ttl === 0 ? -1 : rdbType === RDB_TYPE_HASH_METADATA ? ttl + minExpire - 1 : ttl;
        push(field, value, expireAt);
      }
      break;
    }
    case RDB_TYPE_HASH_ZIPMAP:
      for (const [f, v] of decodeZipmap(r.string('hash zipmap'))) push(f, v);
      break;
    case RDB_TYPE_HASH_ZIPLIST:
    case RDB_TYPE_HASH_LISTPACK: {
      const blob = r.string('hash blob');
      const flat = rdbType === RDB_TYPE_HASH_ZIPLIST ? decodeZiplist(blob, 'hash ziplist') : decodeListpack(blob, 'hash listpack');
      if (flat.length % 2 !== 0) throw r.corrupt('hash blob has an odd number of entries');
      for (let i = 0; i < flat.length; i += 2) push(packedToBuffer(flat[i]), packedToBuffer(flat[i + 1]));
      break;
    }
    case RDB_TYPE_HASH_LISTPACK_EX:
    case RDB_TYPE_HASH_LISTPACK_EX_PRE_GA: {
      if (rdbType === RDB_TYPE_HASH_LISTPACK_EX) r.millis('hash min expire time');
      const flat = decodeListpack(r.string('hash listpack'), 'hash listpackex');
      if (flat.length % 3 !== 0) throw r.corrupt('hash listpackex does not hold field/value/ttl triples');
      for (let i = 0; i < flat.length; i += 3) {
        const ttl = packedToNumber(flat[i + 2]);
        push(packedToBuffer(flat[i]), packedToBuffer(flat[i + 1]), ttl === 0 ? -1 : ttl);
      }
      break;
    }
    default:
      throw r.corrupt(`type ${rdbType} is not a hash type`);
  }
  return { type: 'hash', fields };
}

/** [[field, value], ...] sorted on the field's base64 text, as the fixtures were produced; RDB >= 12 adds the field expiry (ms or -1). */
function inspectHash(v: HashValue, rdbVersion: number): unknown {
  const b64 = (b: Buffer): string => b.toString('base64');
  const rows = v.fields.map((f) => (rdbVersion >= 12 ? [b64(f.field), b64(f.value), f.expireAt] : [b64(f.field), b64(f.value)]));
  return rows.sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : (a[0] as string) > (b[0] as string) ? 1 : 0));
}

export const codec: RedisTypeCodec<HashValue> = {
  name: 'hash',
  rdbTypes: [
    RDB_TYPE_HASH,
    RDB_TYPE_HASH_ZIPMAP,
    RDB_TYPE_HASH_ZIPLIST,
    RDB_TYPE_HASH_LISTPACK,
    RDB_TYPE_HASH_METADATA_PRE_GA,
    RDB_TYPE_HASH_LISTPACK_EX_PRE_GA,
    RDB_TYPE_HASH_METADATA,
    RDB_TYPE_HASH_LISTPACK_EX,
  ],
  walk: walkHash,
  decode: decodeHash,
  inspect: inspectHash,
  readable: (v, arg) => v.fields.map((f) => (f.expireAt >= 0 ? [arg(f.field), arg(f.value), f.expireAt] : [arg(f.field), arg(f.value)])),
};
