/**
 * The contract between a replica link and its consumer (the source's Kafka
 * publisher, or a test). Both sinks are awaited: while a returned promise is
 * pending the link reads nothing more from the master's socket, so a slow
 * consumer (Kafka down) pushes back to the master instead of filling our
 * memory. See docs/replication.md "Backpressure".
 */

/** A position in a master's replication stream, plus the db selected there. */
export interface ReplicationCheckpoint {
  /** The master's replication id (40 hex chars). */
  replid: string;
  /** master_repl_offset fully consumed: the last byte we have. PSYNC asks for offset + 1. */
  offset: number;
  /**
   * The db selected at `offset`. A partial resync does not re-send SELECT (the
   * master only resets its `slaveseldb` on a full resync, redis/src/replication.c
   * replicationSetupSlaveForFullResync), so the db must travel with the offset.
   * Always 0 in cluster mode. Default 0.
   */
  db?: number;
}

/** Where the RDB of a full resync goes, chunk by chunk. */
export interface RdbSink {
  /**
   * A full resync starts. `size` is the RDB's length in bytes for a disk-based
   * transfer (`$<len>`), or null for a diskless one (`$EOF:<mark>`), whose end
   * is only known when it arrives. `offset` is the master_repl_offset the RDB
   * corresponds to; the command stream continues from offset + 1.
   */
  begin(info: { replid: string; offset: number; size: number | null }): Promise<void> | void;
  /** The next bytes of the RDB, in order. The EOF mark of a diskless RDB is never included. */
  write(chunk: Buffer): Promise<void> | void;
  /** The last RDB byte has been written. */
  end(): Promise<void> | void;
  /** The transfer failed part way (link lost); the RDB seen so far is incomplete. */
  abort?(err: Error): void;
}

/** One command of the stream as handed to the consumer. */
export interface ReplicatedCommand {
  argv: Buffer[];
  /** The db the command runs in (the last SELECT before it). */
  db: number;
  /** master_repl_offset right after this command. Inside a transaction it is not a safe checkpoint. */
  offsetAfter: number;
}

/**
 * A data event: one command outside MULTI, or one MULTI … EXEC transaction,
 * the one item of the stream from the link to the event builder
 * (commands/stream-items.ts). PING, REPLCONF, SELECT, MULTI and EXEC are never
 * in `commands`; their bytes are still counted in the offsets, and each
 * command carries the db the last SELECT before it chose.
 */
export interface ReplicationEvent {
  type: 'command' | 'transaction';
  /** db of the first command (a transaction normally stays in one db; cluster mode only has db 0). */
  db: number;
  commands: ReplicatedCommand[];
  /** Safe checkpoint right after this event (after EXEC for a transaction). */
  checkpoint: Required<ReplicationCheckpoint>;
}

export interface CommandSink {
  /** A data event. The link reads nothing more until the returned promise settles; a rejection ends the link. */
  onEvent(event: ReplicationEvent): Promise<void> | void;
  /**
   * Optional: the safe checkpoint moved over non-data bytes (PING, REPLCONF,
   * SELECT, an empty transaction) outside MULTI. Lets an idle master's
   * checkpoint keep up so that a restart does not fall out of the backlog.
   */
  onCheckpoint?(checkpoint: Required<ReplicationCheckpoint>): void;
}

/** The link's life cycle, exposed as a metrics label. */
export type ReplicaLinkState = 'idle' | 'connecting' | 'handshaking' | 'syncing-rdb' | 'streaming' | 'closed';

export interface ReplicaLinkStats {
  /** Bytes read from the master's socket, handshake and RDB included. */
  bytesRead: number;
  rdbBytes: number;
  /** Stream commands parsed (control commands included). */
  commands: number;
  events: number;
  acksSent: number;
  partialResyncs: number;
  fullResyncs: number;
  /** Full resyncs by reason: 'no-checkpoint' or 'psync-rejected'. */
  fullResyncReasons: Record<string, number>;
}
