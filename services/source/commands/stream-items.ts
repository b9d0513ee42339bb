import type { ReplicationEvent } from '../replication/types';

/**
 * What a replica link hands to the event builder: the master's stream after
 * the RDB as ReplicationEvents (replication/types.ts: one command or one
 * MULTI…EXEC group, each command with its db, offsets at the event's end),
 * and the RDB's keys and functions. Offsets are replication offsets just
 * after the item's last byte, i.e. what the checkpoint stores once the item
 * is published.
 */
/** One key of the RDB, as its RESTORE payload (DESIGN §2 "RDB"). */
export interface SnapshotItem {
  type: 'snapshot';
  db: number;
  key: Buffer;
  /** DUMP-format payload: RDB object bytes + 2-byte RDB version + CRC64 */
  payload: Buffer;
  /** absolute expiry in unix ms, 0 for none */
  expireAt: number;
  /** LRU idle time in seconds (RDB_OPCODE_IDLE), when the RDB has it */
  idleSeconds?: number;
  /** LFU frequency (RDB_OPCODE_FREQ), when the RDB has it */
  freq?: number;
  /** offset of the +FULLRESYNC the RDB belongs to */
  offset: number;
}

/** A function library from the RDB (RDB_OPCODE_FUNCTION2), as the code FUNCTION LOAD takes. */
export interface SnapshotFunctionItem {
  type: 'snapshot-function';
  code: Buffer;
  offset: number;
}

export type StreamItem = ReplicationEvent | SnapshotItem | SnapshotFunctionItem;

/** Where the items come from; changes on +FULLRESYNC, +CONTINUE <newid> and failover. */
export interface LinkContext {
  nodeId: string;
  replId: string;
}
