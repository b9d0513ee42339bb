/**
 * RDB type codes and opcodes, named as in redis/redis src/rdb.h (7.4) so that
 * a grep for a Redis constant lands here.
 */

// Object types (the byte before a key).
export const RDB_TYPE_STRING = 0;
export const RDB_TYPE_LIST = 1;
export const RDB_TYPE_SET = 2;
export const RDB_TYPE_ZSET = 3;
export const RDB_TYPE_HASH = 4;
export const RDB_TYPE_ZSET_2 = 5; // ZSET version 2 with doubles stored in binary.
export const RDB_TYPE_MODULE_PRE_GA = 6; // Used in 4.0 release candidates.
export const RDB_TYPE_MODULE_2 = 7; // Module value with annotations for parsing without the module.
// 8 was never used.
export const RDB_TYPE_HASH_ZIPMAP = 9;
export const RDB_TYPE_LIST_ZIPLIST = 10;
export const RDB_TYPE_SET_INTSET = 11;
export const RDB_TYPE_ZSET_ZIPLIST = 12;
export const RDB_TYPE_HASH_ZIPLIST = 13;
export const RDB_TYPE_LIST_QUICKLIST = 14;
export const RDB_TYPE_STREAM_LISTPACKS = 15;
export const RDB_TYPE_HASH_LISTPACK = 16;
export const RDB_TYPE_ZSET_LISTPACK = 17;
export const RDB_TYPE_LIST_QUICKLIST_2 = 18;
export const RDB_TYPE_STREAM_LISTPACKS_2 = 19;
export const RDB_TYPE_SET_LISTPACK = 20;
export const RDB_TYPE_STREAM_LISTPACKS_3 = 21;
export const RDB_TYPE_HASH_METADATA_PRE_GA = 22; // Hash with HFEs, no min TTL at start (7.4 RC).
export const RDB_TYPE_HASH_LISTPACK_EX_PRE_GA = 23; // Hash listpack with HFEs, no min TTL (7.4 RC).
export const RDB_TYPE_HASH_METADATA = 24; // Hash with HFEs; min TTL first, field TTLs relative to it.
export const RDB_TYPE_HASH_LISTPACK_EX = 25; // Hash listpack with HFEs; min TTL first.

// Special opcodes (a byte that is not an object type).
export const RDB_OPCODE_SLOT_INFO = 244; // Redis 7.4 cluster: slot id, keys size, expires size.
export const RDB_OPCODE_FUNCTION2 = 245; // Function library code (7.0 GA).
export const RDB_OPCODE_FUNCTION_PRE_GA = 246; // Function library data, 7.0 release candidates only.
export const RDB_OPCODE_MODULE_AUX = 247;
export const RDB_OPCODE_IDLE = 248; // LRU idle time in seconds.
export const RDB_OPCODE_FREQ = 249; // LFU frequency, one byte.
export const RDB_OPCODE_AUX = 250;
export const RDB_OPCODE_RESIZEDB = 251;
export const RDB_OPCODE_EXPIRETIME_MS = 252;
export const RDB_OPCODE_EXPIRETIME = 253;
export const RDB_OPCODE_SELECTDB = 254;
export const RDB_OPCODE_EOF = 255;

// Module value opcodes (rdb.h RDB_MODULE_OPCODE_*), used by RDB_TYPE_MODULE_2 and MODULE_AUX.
export const RDB_MODULE_OPCODE_EOF = 0;
export const RDB_MODULE_OPCODE_SINT = 1;
export const RDB_MODULE_OPCODE_UINT = 2;
export const RDB_MODULE_OPCODE_FLOAT = 3;
export const RDB_MODULE_OPCODE_DOUBLE = 4;
export const RDB_MODULE_OPCODE_STRING = 5;

// Length encoding (rdb.h RDB_6BITLEN ... RDB_ENCVAL) and the special string encodings.
export const RDB_6BITLEN = 0;
export const RDB_14BITLEN = 1;
export const RDB_32BITLEN = 0x80;
export const RDB_64BITLEN = 0x81;
export const RDB_ENCVAL = 3;
export const RDB_ENC_INT8 = 0;
export const RDB_ENC_INT16 = 1;
export const RDB_ENC_INT32 = 2;
export const RDB_ENC_LZF = 3;

// Quicklist 2 node containers (quicklist.h QUICKLIST_NODE_CONTAINER_*).
export const QUICKLIST_NODE_CONTAINER_PLAIN = 1;
export const QUICKLIST_NODE_CONTAINER_PACKED = 2;

/** The oldest and newest RDB versions this parser reads. */
export const RDB_MIN_VERSION = 1;
export const RDB_MAX_VERSION = 12;

// Which Redis type each RDB_TYPE_* code belongs to is in types/index.ts (the codec table).
