import type { ByteWindow, Walk } from '../byte-window';
import type { BufferReader } from '../encodings/buffer-reader';
import { decodeListpack } from '../encodings/listpack';
import { packedToBuffer, type PackedValue } from '../encodings/packed-value';
import { RDB_TYPE_STREAM_LISTPACKS, RDB_TYPE_STREAM_LISTPACKS_2, RDB_TYPE_STREAM_LISTPACKS_3 } from '../opcodes';
import { idText, streamInfoFull } from '../stream-info';
import type { RedisTypeCodec } from '../type-codec';

/*
 * RDB_TYPE_STREAM_LISTPACKS (15), _2 (19), _3 (21), as rdb.c rdbSaveObject writes them:
 *
 *   <len: nodes> (<string: 16-byte master ID, big endian> <string: listpack>){nodes}
 *   <len: length> <len: last_id.ms> <len: last_id.seq>
 *   [19+: <len: first_id.ms> <len: first_id.seq> <len: max_deleted.ms> <len: max_deleted.seq> <len: entries_added>]
 *   <len: groups> group{groups}
 *   group    := <string: name> <len: last_id.ms> <len: last_id.seq> [19+: <len: entries_read>]
 *               <len: pel> (<16 raw bytes: ID> <8 bytes: delivery time ms> <len: delivery count>){pel}
 *               <len: consumers> consumer{consumers}
 *   consumer := <string: name> <8 bytes: seen time ms> [21: <8 bytes: active time ms>]
 *               <len: pel> <16 raw bytes: ID>{pel}
 *
 * Listpack node layout (t_stream.c): master entry
 *   <count> <deleted> <num-fields> <field>{num-fields} <0>
 * then per entry
 *   <flags> <ms-diff> <seq-diff> [SAMEFIELDS: <value>{num-fields} | <n> (<field> <value>){n}] <lp-count>
 * flags: 1 = deleted, 2 = same fields as the master entry.
 */

export interface StreamTypeValue {
  type: 'stream';
  stream: StreamValue;
}

// The value of a 'stream' key, in RdbValue (type-codec.ts); `codec` below registers the type itself.
declare module '../type-codec' { interface RedisTypeValues { stream: StreamTypeValue } }

export interface StreamId {
  ms: bigint;
  seq: bigint;
}

export interface StreamEntry {
  id: StreamId;
  /** field, value, field, value, ... */
  fields: Buffer[];
}

export interface StreamNack {
  id: StreamId;
  consumer?: Buffer;
  deliveryTime: number;
  deliveryCount: number;
}

export interface StreamConsumer {
  name: Buffer;
  seenTime: number;
  /** Only in RDB_TYPE_STREAM_LISTPACKS_3 (Redis 7.2+). */
  activeTime?: number;
  pending: StreamId[];
}

export interface StreamGroup {
  name: Buffer;
  lastId: StreamId;
  /** -1 when unknown (SCG_INVALID_ENTRIES_READ), or for RDB_TYPE_STREAM_LISTPACKS. */
  entriesRead: bigint;
  pending: StreamNack[];
  consumers: StreamConsumer[];
}

/** Entries in ID order, with the stream's metadata and consumer groups. */
export interface StreamValue {
  entries: StreamEntry[];
  /** Master IDs of the listpack nodes (the rax keys), in order. */
  nodeKeys: Buffer[];
  length: number;
  lastId: StreamId;
  firstId: StreamId;
  maxDeletedId: StreamId;
  entriesAdded: bigint;
  groups: StreamGroup[];
}

const STREAM_ITEM_FLAG_DELETED = 1;
const STREAM_ITEM_FLAG_SAMEFIELDS = 2;

function* walkStream(w: ByteWindow, rdbType: number): Walk {
  const nodes = yield* w.len('stream listpack count');
  for (let i = 0; i < nodes; i++) {
    yield* w.skipString('stream node key');
    yield* w.skipString('stream listpack');
  }
  const header = rdbType === RDB_TYPE_STREAM_LISTPACKS ? 3 : 8;
  for (let i = 0; i < header; i++) yield* w.len('stream metadata');
  const groups = yield* w.len('stream group count');
  for (let g = 0; g < groups; g++) {
    yield* w.skipString('stream group name');
    const fields = rdbType === RDB_TYPE_STREAM_LISTPACKS ? 2 : 3;
    for (let i = 0; i < fields; i++) yield* w.len('stream group metadata');
    const pel = yield* w.len('stream group PEL size');
    for (let i = 0; i < pel; i++) {
      yield* w.skip(24, 'stream PEL entry');
      yield* w.len('stream PEL delivery count');
    }
    const consumers = yield* w.len('stream consumer count');
    for (let c = 0; c < consumers; c++) {
      yield* w.skipString('stream consumer name');
      yield* w.skip(rdbType === RDB_TYPE_STREAM_LISTPACKS_3 ? 16 : 8, 'stream consumer times');
      const cpel = yield* w.len('stream consumer PEL size');
      yield* w.skip(16 * cpel, 'stream consumer PEL');
    }
  }
}

function readId(r: BufferReader, what: string): StreamId {
  return { ms: r.lenBig(`${what} ms`), seq: r.lenBig(`${what} seq`) };
}

function rawId(buf: Buffer): StreamId {
  return { ms: buf.readBigUInt64BE(0), seq: buf.readBigUInt64BE(8) };
}

function decodeStream(r: BufferReader, rdbType: number): StreamTypeValue {
  const v1 = rdbType === RDB_TYPE_STREAM_LISTPACKS;
  const nodes = r.count('stream listpack count');
  const entries: StreamEntry[] = [];
  const nodeKeys: Buffer[] = [];
  for (let i = 0; i < nodes; i++) {
    const key = r.string('stream node key');
    if (key.length !== 16) throw r.corrupt(`stream node key of ${key.length} bytes, expected 16`);
    nodeKeys.push(key);
    decodeStreamNode(rawId(key), decodeListpack(r.string('stream listpack'), 'stream listpack'), entries, r);
  }
  const length = r.len('stream length');
  const lastId = readId(r, 'stream last id');
  const zero: StreamId = { ms: 0n, seq: 0n };
  let firstId = entries.length > 0 ? entries[0].id : zero;
  let maxDeletedId = zero;
  let entriesAdded = BigInt(length);
  if (!v1) {
    firstId = readId(r, 'stream first id');
    maxDeletedId = readId(r, 'stream max deleted id');
    entriesAdded = r.lenBig('stream entries added');
  }
  const groups: StreamGroup[] = [];
  const ngroups = r.count('stream group count');
  for (let g = 0; g < ngroups; g++) {
    const name = r.string('stream group name');
    const lastGroupId = readId(r, 'stream group last id');
    const entriesRead = v1 ? -1n : BigInt.asIntN(64, r.lenBig('stream group entries read'));
    const pending: StreamNack[] = [];
    const npel = r.count('stream group PEL size');
    for (let i = 0; i < npel; i++) {
      const id = rawId(r.fixed(16, 'stream PEL id'));
      const deliveryTime = r.millis('stream PEL delivery time');
      const deliveryCount = r.len('stream PEL delivery count');
      pending.push({ id, deliveryTime, deliveryCount });
    }
    const consumers: StreamConsumer[] = [];
    const nconsumers = r.count('stream consumer count');
    for (let c = 0; c < nconsumers; c++) {
      const cname = r.string('stream consumer name');
      const seenTime = r.millis('stream consumer seen time');
      const activeTime = rdbType === RDB_TYPE_STREAM_LISTPACKS_3 ? r.millis('stream consumer active time') : undefined;
      const cpending: StreamId[] = [];
      const ncpel = r.count('stream consumer PEL size');
      for (let i = 0; i < ncpel; i++) {
        const id = rawId(r.fixed(16, 'stream consumer PEL id'));
        cpending.push(id);
        const nack = pending.find((p) => p.id.ms === id.ms && p.id.seq === id.seq);
        if (!nack) throw r.corrupt('stream consumer PEL entry missing from the group PEL');
        nack.consumer = cname;
      }
      consumers.push({ name: cname, seenTime, activeTime, pending: cpending });
    }
    groups.push({ name, lastId: lastGroupId, entriesRead, pending, consumers });
  }
  const stream: StreamValue = { entries, nodeKeys, length, lastId, firstId, maxDeletedId, entriesAdded, groups };
  return { type: 'stream', stream };
}

function decodeStreamNode(master: StreamId, lp: PackedValue[], out: StreamEntry[], r: BufferReader): void {
  const int = (i: number, what: string): bigint => {
    const v = lp[i];
    if (v === undefined || Buffer.isBuffer(v)) throw r.corrupt(`stream listpack: expected an integer ${what} at element ${i}`);
    return BigInt(v);
  };
  const numFields = Number(int(2, 'master field count'));
  const masterFields = lp.slice(3, 3 + numFields).map(packedToBuffer);
  let i = 3 + numFields + 1; // skip the master entry's terminating 0
  while (i < lp.length) {
    const flags = Number(int(i, 'flags'));
    const id: StreamId = { ms: master.ms + int(i + 1, 'ms diff'), seq: master.seq + int(i + 2, 'seq diff') };
    i += 3;
    const fields: Buffer[] = [];
    if (flags & STREAM_ITEM_FLAG_SAMEFIELDS) {
      for (let f = 0; f < numFields; f++) fields.push(masterFields[f], packedToBuffer(lp[i + f]));
      i += numFields;
    } else {
      const n = Number(int(i, 'field count'));
      i++;
      for (let f = 0; f < 2 * n; f++) fields.push(packedToBuffer(lp[i + f]));
      i += 2 * n;
    }
    i++; // lp-count, used by Redis to walk backwards
    if (i > lp.length) throw r.corrupt('stream listpack entry runs past the listpack end');
    if (!(flags & STREAM_ITEM_FLAG_DELETED)) out.push({ id, fields });
  }
}

export const codec: RedisTypeCodec<StreamTypeValue> = {
  name: 'stream',
  rdbTypes: [RDB_TYPE_STREAM_LISTPACKS, RDB_TYPE_STREAM_LISTPACKS_2, RDB_TYPE_STREAM_LISTPACKS_3],
  walk: walkStream,
  decode: decodeStream,
  // inspect: {entries: [[id, [f, v, ...]], ...] (base64), infoFull: XINFO STREAM FULL (strings as text)}.
  inspect: (v, _rdbVersion, rdbType) => ({
    entries: v.stream.entries.map((e) => [idText(e.id), e.fields.map((b) => b.toString('base64'))]),
    infoFull: streamInfoFull(v.stream, rdbType, (b) => b.toString('utf8')),
  }),
  readable: (v, arg) => ({ entries: v.stream.entries.map((e) => [idText(e.id), e.fields.map(arg)]), groups: v.stream.groups.length }),
};
