import type { ByteWindow, Walk } from '../byte-window';
import type { BufferReader } from '../encodings/buffer-reader';
import { decodeIntset } from '../encodings/intset';
import { decodeListpack } from '../encodings/listpack';
import { packedToBuffer } from '../encodings/packed-value';
import { RDB_TYPE_SET, RDB_TYPE_SET_INTSET, RDB_TYPE_SET_LISTPACK } from '../opcodes';
import type { RdbValue } from '../value';

/*
 * RDB_TYPE_SET (2):           <len> <string>{len}
 * RDB_TYPE_SET_INTSET (11):   <string: intset>
 * RDB_TYPE_SET_LISTPACK (20): <string: listpack>
 */

export function* walkSet(w: ByteWindow, rdbType: number): Walk {
  if (rdbType !== RDB_TYPE_SET) return yield* w.skipString('set blob');
  let n = w.tryLen('set size');
  if (n === undefined) n = yield* w.len('set size');
  for (let i = 0; i < n; i++) if (!w.trySkipString('set member')) yield* w.skipString('set member');
}

export function decodeSet(r: BufferReader, rdbType: number): RdbValue {
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
