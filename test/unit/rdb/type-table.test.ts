import { codecOfRdbType, codecOfValue, decodePayload, REDIS_TYPE_CODECS, redisTypeOf } from '../../../services/rdb';
import * as op from '../../../services/rdb/opcodes';
import { loadFixture, SERVERS } from './fixture-helpers';

/** Every RDB_TYPE_* constant of rdb.h (7.4) and the TYPE reply Redis gives for it. */
const RDB_H_TYPES: [string, string][] = [
  ['RDB_TYPE_STRING', 'string'],
  ['RDB_TYPE_LIST', 'list'],
  ['RDB_TYPE_SET', 'set'],
  ['RDB_TYPE_ZSET', 'zset'],
  ['RDB_TYPE_HASH', 'hash'],
  ['RDB_TYPE_ZSET_2', 'zset'],
  ['RDB_TYPE_MODULE_PRE_GA', 'module'],
  ['RDB_TYPE_MODULE_2', 'module'],
  ['RDB_TYPE_HASH_ZIPMAP', 'hash'],
  ['RDB_TYPE_LIST_ZIPLIST', 'list'],
  ['RDB_TYPE_SET_INTSET', 'set'],
  ['RDB_TYPE_ZSET_ZIPLIST', 'zset'],
  ['RDB_TYPE_HASH_ZIPLIST', 'hash'],
  ['RDB_TYPE_LIST_QUICKLIST', 'list'],
  ['RDB_TYPE_STREAM_LISTPACKS', 'stream'],
  ['RDB_TYPE_HASH_LISTPACK', 'hash'],
  ['RDB_TYPE_ZSET_LISTPACK', 'zset'],
  ['RDB_TYPE_LIST_QUICKLIST_2', 'list'],
  ['RDB_TYPE_STREAM_LISTPACKS_2', 'stream'],
  ['RDB_TYPE_SET_LISTPACK', 'set'],
  ['RDB_TYPE_STREAM_LISTPACKS_3', 'stream'],
  ['RDB_TYPE_HASH_METADATA_PRE_GA', 'hash'],
  ['RDB_TYPE_HASH_LISTPACK_EX_PRE_GA', 'hash'],
  ['RDB_TYPE_HASH_METADATA', 'hash'],
  ['RDB_TYPE_HASH_LISTPACK_EX', 'hash'],
];
const code = (name: string): number => (op as unknown as Record<string, number>)[name];

describe('the Redis type table', () => {
  it('gives every RDB type code of rdb.h to exactly the codec of its Redis type', () => {
    for (const [name, type] of RDB_H_TYPES) {
      expect({ name, type: redisTypeOf(code(name)), codec: codecOfRdbType(code(name))?.name }).toEqual({ name, type, codec: type });
    }
    const claimed = REDIS_TYPE_CODECS.flatMap((c) => [...c.rdbTypes]).sort((a, b) => a - b);
    expect(claimed).toEqual(RDB_H_TYPES.map(([name]) => code(name)).sort((a, b) => a - b));
  });

  it('knows no type for 8 (never used) or an opcode', () => {
    for (const t of [8, 26, op.RDB_OPCODE_SLOT_INFO, op.RDB_OPCODE_AUX, op.RDB_OPCODE_SELECTDB, op.RDB_OPCODE_EOF]) {
      expect([t, codecOfRdbType(t)]).toEqual([t, undefined]);
    }
  });

  it.each(SERVERS)('decodes each key of %s with the codec of its type code, named as its TYPE reply', (server) => {
    const { expected } = loadFixture(server, 'standalone');
    for (const keys of Object.values(expected.dbs)) {
      for (const [key, want] of Object.entries(keys)) {
        const payload = Buffer.from(want.dump, 'base64');
        const decoded = decodePayload(payload);
        expect([key, codecOfRdbType(payload[0])?.name, codecOfValue(decoded.value).name]).toEqual([key, want.type, want.type]);
      }
    }
  });
});
