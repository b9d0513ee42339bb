import type { ByteWindow, Walk } from '../byte-window';
import type { BufferReader } from '../encodings/buffer-reader';
import { decodeListpack } from '../encodings/listpack';
import { packedToBuffer } from '../encodings/packed-value';
import { decodeZiplist } from '../encodings/ziplist';
import {
  QUICKLIST_NODE_CONTAINER_PACKED,
  QUICKLIST_NODE_CONTAINER_PLAIN,
  RDB_TYPE_LIST,
  RDB_TYPE_LIST_QUICKLIST,
  RDB_TYPE_LIST_QUICKLIST_2,
  RDB_TYPE_LIST_ZIPLIST,
} from '../opcodes';
import { rdbCorrupt } from '../rdb-errors';
import type { RedisTypeCodec } from '../type-codec';

/*
 * RDB_TYPE_LIST (1):              <len> <string>{len}
 * RDB_TYPE_LIST_ZIPLIST (10):     <string: ziplist>
 * RDB_TYPE_LIST_QUICKLIST (14):   <len> <string: ziplist>{len}
 * RDB_TYPE_LIST_QUICKLIST_2 (18): <len> (<container: 1 PLAIN | 2 PACKED> <string: element | listpack>){len}
 *
 * Quicklist nodes may be LZF-compressed strings (list-compress-depth); that is
 * just the string encoding. A PLAIN node (Redis 7.0+) holds one element bigger
 * than list-max-listpack-size on its own.
 */

/** The elements in list order. */
export interface ListValue {
  type: 'list';
  items: Buffer[];
}

// The value of a 'list' key, in RdbValue (type-codec.ts); `codec` below registers the type itself.
declare module '../type-codec' { interface RedisTypeValues { list: ListValue } }

function* walkList(w: ByteWindow, rdbType: number): Walk {
  if (rdbType === RDB_TYPE_LIST_ZIPLIST) return yield* w.skipString('list ziplist');
  let n = w.tryLen('list length');
  if (n === undefined) n = yield* w.len('list length');
  for (let i = 0; i < n; i++) {
    if (rdbType === RDB_TYPE_LIST_QUICKLIST_2) {
      const at = w.offset;
      let container = w.tryLen('quicklist node container');
      if (container === undefined) container = yield* w.len('quicklist node container');
      if (container !== QUICKLIST_NODE_CONTAINER_PLAIN && container !== QUICKLIST_NODE_CONTAINER_PACKED) {
        throw rdbCorrupt(at, `expected quicklist node container 1 (plain) or 2 (packed), got ${container}`);
      }
    }
    if (!w.trySkipString('list element')) yield* w.skipString('list element');
  }
}

function decodeList(r: BufferReader, rdbType: number): ListValue {
  const items: Buffer[] = [];
  switch (rdbType) {
    case RDB_TYPE_LIST: {
      const n = r.count('list length');
      for (let i = 0; i < n; i++) items.push(r.string('list element'));
      break;
    }
    case RDB_TYPE_LIST_ZIPLIST:
      for (const v of decodeZiplist(r.string('list ziplist'))) items.push(packedToBuffer(v));
      break;
    case RDB_TYPE_LIST_QUICKLIST: {
      const n = r.count('quicklist length');
      for (let i = 0; i < n; i++) {
        for (const v of decodeZiplist(r.string('quicklist node'), 'quicklist ziplist')) items.push(packedToBuffer(v));
      }
      break;
    }
    case RDB_TYPE_LIST_QUICKLIST_2: {
      const n = r.count('quicklist length');
      for (let i = 0; i < n; i++) {
        const at = r.pos;
        const container = r.len('quicklist node container');
        const node = r.string('quicklist node');
        if (container === QUICKLIST_NODE_CONTAINER_PLAIN) items.push(node);
        else if (container === QUICKLIST_NODE_CONTAINER_PACKED) {
          for (const v of decodeListpack(node, 'quicklist listpack')) items.push(packedToBuffer(v));
        } else throw r.corrupt(`expected quicklist node container 1 or 2, got ${container}`, at);
      }
      break;
    }
    default:
      throw r.corrupt(`type ${rdbType} is not a list type`);
  }
  return { type: 'list', items };
}

export const codec: RedisTypeCodec<ListValue> = {
  name: 'list',
  rdbTypes: [RDB_TYPE_LIST, RDB_TYPE_LIST_ZIPLIST, RDB_TYPE_LIST_QUICKLIST, RDB_TYPE_LIST_QUICKLIST_2],
  walk: walkList,
  decode: decodeList,
  // inspect: [base64, ...] in order.
  inspect: (v) => v.items.map((b) => b.toString('base64')),
  readable: (v, arg) => v.items.map(arg),
};
