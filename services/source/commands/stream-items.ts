/**
 * What a replica link hands to the event builder: the master's stream after
 * the RDB, already split into commands and MULTI…EXEC groups with the db
 * tracked, and the RDB's keys. Offsets are replication offsets just after the
 * item's last byte, i.e. what the checkpoint stores once the item is published.
 */
export interface CommandItem {
  type: 'command';
  db: number;
  argv: Buffer[];
  offset: number;
}

export interface TransactionItem {
  type: 'transaction';
  /** db at MULTI; a SELECT inside the group is honoured */
  db: number;
  /** the commands between MULTI and EXEC (the frames themselves are tolerated and stripped) */
  commands: Buffer[][];
  /** offset just after EXEC */
  offset: number;
}

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

export type StreamItem = CommandItem | TransactionItem | SnapshotItem | SnapshotFunctionItem;

/** Where the items come from; changes on +FULLRESYNC, +CONTINUE <newid> and failover. */
export interface LinkContext {
  nodeId: string;
  replId: string;
}
