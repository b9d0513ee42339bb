import type { RedisType } from './types';

/**
 * What the RDB parser emits, in file order. A consumer pulls events one at a
 * time (that is the backpressure: nothing is read while it holds on to one).
 *
 * A key arrives either as one `key` event with its whole RESTORE payload, or,
 * when the payload outgrows `maxInlinePayloadBytes`, as `key-begin`, several
 * `key-chunk`s (their concatenation is the payload, trailer included) and
 * `key-end`.
 */
export type RdbEvent =
  | RdbHeaderEvent
  | RdbAuxEvent
  | RdbSelectDbEvent
  | RdbResizeDbEvent
  | RdbSlotInfoEvent
  | RdbFunctionEvent
  | RdbModuleAuxEvent
  | RdbKeyEvent
  | RdbKeyBeginEvent
  | RdbKeyChunkEvent
  | RdbKeyEndEvent
  | RdbEndEvent;

export interface RdbHeaderEvent {
  kind: 'header';
  /** RDB format version from the "REDISnnnn" magic. */
  version: number;
}

/** RDB_OPCODE_AUX: a key/value pair of metadata (redis-ver, repl-id, slot-info, ...). */
export interface RdbAuxEvent {
  kind: 'aux';
  key: Buffer;
  value: Buffer;
}

export interface RdbSelectDbEvent {
  kind: 'selectdb';
  db: number;
}

export interface RdbResizeDbEvent {
  kind: 'resizedb';
  dbSize: number;
  expiresSize: number;
}

/** RDB_OPCODE_SLOT_INFO (Redis 7.4 cluster): sizes of one slot's dicts. */
export interface RdbSlotInfoEvent {
  kind: 'slot-info';
  slot: number;
  slotSize: number;
  expiresSlotSize: number;
}

/** RDB_OPCODE_FUNCTION2: one function library, as the code FUNCTION LOAD takes. */
export interface RdbFunctionEvent {
  kind: 'function';
  code: Buffer;
}

/** RDB_OPCODE_MODULE_AUX: module-wide data, skipped (it cannot be replayed without the module). */
export interface RdbModuleAuxEvent {
  kind: 'module-aux';
  moduleId: bigint;
  moduleName: string;
}

/** Everything known about a key before its value. */
export interface RdbKeyHeader {
  db: number;
  key: Buffer;
  type: RedisType;
  /** The RDB_TYPE_* code of the value. */
  rdbType: number;
  /** Absolute expiry in unix ms, or -1. */
  expireAt: number;
  /** LRU idle seconds (RDB_OPCODE_IDLE), when the file carries it. */
  idle?: number;
  /** LFU frequency (RDB_OPCODE_FREQ), when the file carries it. */
  freq?: number;
  /** Offset of the key's type byte in the RDB stream. */
  offset: number;
}

/**
 * One key with its RESTORE payload: type byte + value bytes exactly as in the
 * file + RDB version (2 bytes LE) + CRC64 of all that (8 bytes LE). Identical
 * to DUMP on the server that wrote the file.
 */
export interface RdbKeyEvent extends RdbKeyHeader {
  kind: 'key';
  payload: Buffer;
}

export interface RdbKeyBeginEvent extends RdbKeyHeader {
  kind: 'key-begin';
}

export interface RdbKeyChunkEvent {
  kind: 'key-chunk';
  data: Buffer;
}

export interface RdbKeyEndEvent extends RdbKeyHeader {
  kind: 'key-end';
  /** Total payload bytes emitted in the key's chunks, trailer included. */
  payloadBytes: number;
}

export interface RdbEndEvent {
  kind: 'end';
  version: number;
  /** The checksum in the file; null for RDB < 5 or when the file says 0 (disabled). */
  checksum: bigint | null;
  /** Bytes of RDB consumed, checksum included. */
  bytes: number;
}
