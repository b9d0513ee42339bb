import type { ByteWindow } from './byte-window';
import { Crc64 } from './crc64';
import type { RdbKeyEvent } from './events';
import * as op from './opcodes';
import { redisTypeOf } from './types';

/*
 * The small-key fast path. Most keys of a real dataset are small and sit,
 * with their name and whole value, inside the current input chunk:
 *
 *   <type byte> <string: key, plain encoding> <value>
 *   value := <string>                                   STRING, and the one-blob encodings:
 *                                                       ZIPMAP, ZIPLIST, INTSET, LISTPACK
 *          | <8 bytes: min expire> <string>             HASH_LISTPACK_EX
 *          | <len ≤ 64> (<container> <string>){len}     LIST_QUICKLIST_2 (a small list is one packed node)
 *          | <len ≤ 64> <string>{len}                   LIST_QUICKLIST
 *
 * For those, the generic path (a generator per value, a payload capture with
 * a part list, a CRC object and a trailer buffer per key) cost ~4 µs per key.
 * Here one synchronous pass finds the value's end, then one allocation holds
 * the key name and the RESTORE payload, and the payload CRC64 runs once over
 * it. Anything else (a split key, an int or LZF key name, another type, a
 * payload over the inline bound) returns undefined with nothing consumed, and
 * the generic path handles it, with the same events and the same errors: the
 * reads here use the generic walkers' field names, so a corrupt header throws
 * the same message at the same offset.
 */

/** Most keys read ahead in one batch (their bytes are already in the window, so this bounds only the event objects). */
export const MAX_BATCH_KEYS = 1024;
/** Quicklists with more nodes than this are big lists: not worth a speculative pass. */
const MAX_FAST_LIST_NODES = 64;
/** Up to this many bytes a plain loop beats Buffer#copy's call overhead (which allocates a view). */
const COPY_LOOP_MAX = 256;

export class SmallKeyReader {
  private readonly crc = new Crc64();

  constructor(
    private readonly inlineLimit: number,
    private readonly maxStringBytes: number,
  ) {}

  /**
   * Reads consecutive small keys, each optionally preceded by EXPIRETIME_MS,
   * into `out` (emptied first), up to MAX_BATCH_KEYS, stopping with nothing
   * consumed at the first item that is not such a key. One generator step
   * then hands out the whole batch instead of one step per key. Call it only
   * with no pending expire/idle/freq state.
   */
  readBatch(w: ByteWindow, db: number, rdbVersion: number, out: RdbKeyEvent[]): number {
    out.length = 0;
    const buf = w.buf;
    while (out.length < MAX_BATCH_KEYS) {
      const start = w.pos;
      let p = start;
      if (p >= buf.length) break;
      let expireAt = -1;
      if (buf[p] === op.RDB_OPCODE_EXPIRETIME_MS) {
        if (buf.length - p < 10) break;
        expireAt = buf.readInt32LE(p + 5) * 0x100000000 + buf.readUInt32LE(p + 1);
        p += 9;
      }
      const rdbType = buf[p];
      if (rdbType > op.RDB_TYPE_HASH_LISTPACK_EX || FAST_TYPES[rdbType] === 0) break;
      w.pos = p + 1;
      const ev = this.tryRead(w, rdbType, w.base + p, db, expireAt, rdbVersion);
      if (ev === undefined) {
        w.pos = start;
        break;
      }
      out.push(ev);
    }
    return out.length;
  }

  /**
   * Reads a whole small key whose type byte was just consumed (at `at`), or
   * consumes nothing and returns undefined.
   */
  tryRead(w: ByteWindow, rdbType: number, at: number, db: number, expireAt: number, rdbVersion: number): RdbKeyEvent | undefined {
    const start = w.pos;
    if (!w.tryStringHeader('a key name') || w.hdrKind !== 0) {
      w.pos = start;
      return undefined;
    }
    const keyLen = w.hdrBody;
    const keyStart = w.pos;
    const valueStart = keyStart + keyLen;
    if (keyLen > this.maxStringBytes || valueStart > w.buf.length) {
      w.pos = start;
      return undefined;
    }
    w.pos = valueStart;
    if (!skipSmallValue(w, rdbType)) {
      w.pos = start;
      return undefined;
    }
    const valueEnd = w.pos;
    const valueLen = valueEnd - valueStart;
    // RESTORE payload: type byte, value, version (2 bytes LE), CRC64 (8 bytes LE).
    const payloadLen = 1 + valueLen + 10;
    if (payloadLen > this.inlineLimit) {
      w.pos = start;
      return undefined;
    }
    // Two allocations (both from Node's buffer pool when small); a subarray of one would cost as much.
    const src = w.buf;
    const key = Buffer.allocUnsafe(keyLen);
    copyBytes(src, keyStart, key, 0, keyLen);
    const payload = Buffer.allocUnsafe(payloadLen);
    const crc = this.crc.reset();
    payload[0] = rdbType;
    crc.update(payload, 0, 1);
    if (valueLen > COPY_LOOP_MAX) {
      // Long values: the native copy, then the CRC's own fast path over the aligned copy.
      src.copy(payload, 1, valueStart, valueEnd);
      crc.update(payload, 1, 1 + valueLen);
    } else {
      crc.copyUpdate(src, valueStart, valueEnd, payload, 1);
    }
    const trailer = 1 + valueLen;
    payload[trailer] = rdbVersion & 0xff;
    payload[trailer + 1] = (rdbVersion >> 8) & 0xff;
    crc.update(payload, trailer, trailer + 2);
    crc.writeDigest(payload, trailer + 2);
    return { kind: 'key', db, key, type: redisTypeOf(rdbType)!, rdbType, expireAt, offset: at, payload };
  }
}

/** 1 for the RDB_TYPE_* codes skipSmallValue handles. */
const FAST_TYPES = new Uint8Array(op.RDB_TYPE_HASH_LISTPACK_EX + 1);
for (const t of [
  op.RDB_TYPE_STRING,
  op.RDB_TYPE_HASH_ZIPMAP,
  op.RDB_TYPE_HASH_ZIPLIST,
  op.RDB_TYPE_HASH_LISTPACK,
  op.RDB_TYPE_HASH_LISTPACK_EX_PRE_GA,
  op.RDB_TYPE_HASH_LISTPACK_EX,
  op.RDB_TYPE_SET_INTSET,
  op.RDB_TYPE_SET_LISTPACK,
  op.RDB_TYPE_ZSET_ZIPLIST,
  op.RDB_TYPE_ZSET_LISTPACK,
  op.RDB_TYPE_LIST_ZIPLIST,
  op.RDB_TYPE_LIST_QUICKLIST,
  op.RDB_TYPE_LIST_QUICKLIST_2,
]) {
  FAST_TYPES[t] = 1;
}

/** Consumes one value of the fast-path types when it lies wholly in the window; false otherwise (the caller rewinds). */
function skipSmallValue(w: ByteWindow, rdbType: number): boolean {
  switch (rdbType) {
    case op.RDB_TYPE_STRING:
      return w.trySkipString('string value');
    case op.RDB_TYPE_HASH_ZIPMAP:
    case op.RDB_TYPE_HASH_ZIPLIST:
    case op.RDB_TYPE_HASH_LISTPACK:
    case op.RDB_TYPE_HASH_LISTPACK_EX_PRE_GA:
      return w.trySkipString('hash blob');
    case op.RDB_TYPE_HASH_LISTPACK_EX:
      if (w.avail() < 8) return false;
      w.pos += 8;
      return w.trySkipString('hash blob');
    case op.RDB_TYPE_SET_INTSET:
    case op.RDB_TYPE_SET_LISTPACK:
      return w.trySkipString('set blob');
    case op.RDB_TYPE_ZSET_ZIPLIST:
    case op.RDB_TYPE_ZSET_LISTPACK:
      return w.trySkipString('zset blob');
    case op.RDB_TYPE_LIST_ZIPLIST:
      return w.trySkipString('list ziplist');
    case op.RDB_TYPE_LIST_QUICKLIST:
    case op.RDB_TYPE_LIST_QUICKLIST_2: {
      const n = w.tryLen('list length');
      if (n === undefined || n > MAX_FAST_LIST_NODES) return false;
      for (let i = 0; i < n; i++) {
        if (rdbType === op.RDB_TYPE_LIST_QUICKLIST_2) {
          // A bad container is left to the generic walker, which reports it.
          const container = w.tryLen('quicklist node container');
          if (container !== op.QUICKLIST_NODE_CONTAINER_PLAIN && container !== op.QUICKLIST_NODE_CONTAINER_PACKED) return false;
        }
        if (!w.trySkipString('list element')) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

function copyBytes(src: Buffer, from: number, dst: Buffer, to: number, n: number): void {
  if (n > COPY_LOOP_MAX) {
    src.copy(dst, to, from, from + n);
    return;
  }
  for (let i = 0; i < n; i++) dst[to + i] = src[from + i];
}
