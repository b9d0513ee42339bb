import type { ByteWindow, Walk } from '../byte-window';
import type { BufferReader } from '../encodings/buffer-reader';
import { decodeIntset } from '../encodings/intset';
import { decodeListpack } from '../encodings/listpack';
import { packedToBuffer } from '../encodings/packed-value';
import { RDB_TYPE_SET, RDB_TYPE_SET_INTSET, RDB_TYPE_SET_LISTPACK } from '../opcodes';
import type { RedisTypeCodec } from '../type-codec';

/*
 * RDB_TYPE_SET (2):           <len> <string>{len}
 * RDB_TYPE_SET_INTSET (11):   <string: intset>
 * RDB_TYPE_SET_LISTPACK (20): <string: listpack>
 */

/** The members in file order. */
export interface SetValue {
  type: 'set';
  members: Buffer[];
}

// The value of a 'set' key, in RdbValue (type-codec.ts); `codec` below registers the type itself.
declare module '../type-codec' { interface RedisTypeValues { set: SetValue } }

function* walkSet(w: ByteWindow, rdbType: number): Walk {
  if (rdbType !== RDB_TYPE_SET) return yield* w.skipString('set blob');
  let n = w.tryLen('set size');
  if (n === undefined) n = yield* w.len('set size');
  for (let i = 0; i < n; i++) if (!w.trySkipString('set member')) yield* w.skipString('set member');
}

function decodeSet(r: BufferReader, rdbType: number): SetValue {
  const members: Buffer[] = [];
  if (rdbType === RDB_TYPE_SET) {
    const n = r.count('set size');
    for (let i = 0; i < n; i++) members.push(r.string('set member'));
  } else if (rdbType === RDB_TYPE_SET_INTSET) {
    for (const v of decodeIntset(r.string('set intset'))) members.push(Buffer.from(v.toString()));
  } else if (rdbType === RDB_TYPE_SET_LISTPACK) {
    for (const v of decodeListpack(r.string('set listpack'), 'set listpack')) members.push(packedToBuffer(v));
  } else throw r.corrupt(`type ${rdbType} is not a set type`);
  return { type: 'set', members };
}

export const codec: RedisTypeCodec<SetValue> = {
  name: 'set',
  rdbTypes: [RDB_TYPE_SET, RDB_TYPE_SET_INTSET, RDB_TYPE_SET_LISTPACK],
  walk: walkSet,
  decode: decodeSet,
  // inspect: [base64, ...] sorted on the base64 text, as the fixtures were produced.
  inspect: (v) => v.members.map((b) => b.toString('base64')).sort(),
  readable: (v, arg) => v.members.map(arg),
};
