import type { ByteWindow, Walk } from '../byte-window';
import { parseRedisDouble, type BufferReader } from '../encodings/buffer-reader';
import { decodeListpack } from '../encodings/listpack';
import { packedToBuffer, type PackedValue } from '../encodings/packed-value';
import { decodeZiplist } from '../encodings/ziplist';
import { RDB_TYPE_ZSET, RDB_TYPE_ZSET_2, RDB_TYPE_ZSET_LISTPACK, RDB_TYPE_ZSET_ZIPLIST } from '../opcodes';
import { formatScore } from '../format-double';
import type { RedisTypeCodec } from '../type-codec';

/*
 * RDB_TYPE_ZSET (3):           <len> (<string: member> <double-string>){len}
 *                              double-string := <u8 n> <n ASCII bytes> | 253 nan | 254 +inf | 255 -inf
 * RDB_TYPE_ZSET_2 (5):         <len> (<string: member> <8 bytes: double LE>){len}
 * RDB_TYPE_ZSET_ZIPLIST (12):  <string: ziplist of member, score, ...>
 * RDB_TYPE_ZSET_LISTPACK (17): <string: listpack of member, score, ...>
 *
 * A skiplist is saved from the highest score to the lowest (rdb.c saves it
 * tail to head so loading inserts at the head), so the decoder sorts.
 */

/** The entries in rank order. */
export interface ZsetValue {
  type: 'zset';
  entries: ZsetEntry[];
}

// The value of a 'zset' key, in RdbValue (type-codec.ts); `codec` below registers the type itself.
declare module '../type-codec' { interface RedisTypeValues { zset: ZsetValue } }

export interface ZsetEntry {
  member: Buffer;
  score: number;
}

function* walkZset(w: ByteWindow, rdbType: number): Walk {
  if (rdbType === RDB_TYPE_ZSET_ZIPLIST || rdbType === RDB_TYPE_ZSET_LISTPACK) return yield* w.skipString('zset blob');
  let n = w.tryLen('zset size');
  if (n === undefined) n = yield* w.len('zset size');
  for (let i = 0; i < n; i++) {
    if (!w.trySkipString('zset member')) yield* w.skipString('zset member');
    if (rdbType === RDB_TYPE_ZSET_2) {
      if (w.avail() >= 8) w.pos += 8;
      else yield* w.skip(8, 'zset score');
    } else {
      if (w.avail() < 1) yield* w.ensure(1, 'zset score');
      const len = w.buf[w.pos++];
      if (len < 253) yield* w.skip(len, 'zset score');
    }
  }
}

function decodeZset(r: BufferReader, rdbType: number): ZsetValue {
  const entries: ZsetEntry[] = [];
  if (rdbType === RDB_TYPE_ZSET || rdbType === RDB_TYPE_ZSET_2) {
    const n = r.count('zset size');
    for (let i = 0; i < n; i++) {
      const member = r.string('zset member');
      const score = rdbType === RDB_TYPE_ZSET_2 ? r.binaryDouble('zset score') : r.doubleString('zset score');
      entries.push({ member, score });
    }
  } else if (rdbType === RDB_TYPE_ZSET_ZIPLIST || rdbType === RDB_TYPE_ZSET_LISTPACK) {
    const blob = r.string('zset blob');
    const flat = rdbType === RDB_TYPE_ZSET_ZIPLIST ? decodeZiplist(blob, 'zset ziplist') : decodeListpack(blob, 'zset listpack');
    if (flat.length % 2 !== 0) throw r.corrupt(`zset ${rdbType === RDB_TYPE_ZSET_ZIPLIST ? 'ziplist' : 'listpack'} has an odd number of entries`);
    for (let i = 0; i < flat.length; i += 2) entries.push({ member: packedToBuffer(flat[i]), score: scoreOf(flat[i + 1]) });
  } else throw r.corrupt(`type ${rdbType} is not a zset type`);
  entries.sort(compareZsetEntries);
  return { type: 'zset', entries };
}

function scoreOf(v: PackedValue): number {
  return Buffer.isBuffer(v) ? parseRedisDouble(v.toString('latin1')) : Number(v);
}

/** Rank order: by score, then members byte-wise (zslInsert / zzlInsert). */
function compareZsetEntries(a: ZsetEntry, b: ZsetEntry): number {
  if (a.score < b.score) return -1;
  if (a.score > b.score) return 1;
  return Buffer.compare(a.member, b.member);
}

export const codec: RedisTypeCodec<ZsetValue> = {
  name: 'zset',
  rdbTypes: [RDB_TYPE_ZSET, RDB_TYPE_ZSET_2, RDB_TYPE_ZSET_ZIPLIST, RDB_TYPE_ZSET_LISTPACK],
  walk: walkZset,
  decode: decodeZset,
  // inspect: [[base64, score as the server prints it], ...] by rank.
  inspect: (v, rdbVersion) => v.entries.map((e) => [e.member.toString('base64'), formatScore(e.score, rdbVersion)]),
  readable: (v, arg) => v.entries.map((e) => [arg(e.member), e.score]),
};
