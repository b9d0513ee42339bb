/**
 * A decoded Redis value. Strings stay Buffers (Redis strings are binary).
 * Collections keep the server's order where it is meaningful (list order,
 * zset rank order, stream ID order) and file order otherwise.
 */
export type RdbValue =
  | { type: 'string'; value: Buffer }
  | { type: 'list'; items: Buffer[] }
  | { type: 'set'; members: Buffer[] }
  | { type: 'zset'; entries: ZsetEntry[] }
  | { type: 'hash'; fields: HashField[] }
  | { type: 'stream'; stream: StreamValue }
  | { type: 'module'; moduleId: bigint; moduleName: string };

export interface ZsetEntry {
  member: Buffer;
  score: number;
}

export interface HashField {
  field: Buffer;
  value: Buffer;
  /** Field expiry (Redis 7.4 hash field TTL) in unix ms, or -1. */
  expireAt: number;
}

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
