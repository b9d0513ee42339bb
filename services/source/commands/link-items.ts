/**
 * Adapters from what the replica link and the RDB parser emit
 * (replication/types.ts, rdb/events.ts) to the builder's stream items, so the
 * builder stays independent of their internals.
 */
import type { RdbFunctionEvent, RdbKeyEvent } from '../../rdb';
import type { ReplicationEvent } from '../replication/types';
import type { CommandItem, SnapshotFunctionItem, SnapshotItem, TransactionItem } from './stream-items';

const SELECT = Buffer.from('SELECT');

/**
 * A link event. The link strips SELECT but gives each command its db; a
 * transaction that changes db part way gets a SELECT back at that point, which
 * the builder honours.
 */
export function itemFromReplicationEvent(event: ReplicationEvent): CommandItem | TransactionItem {
  const offset = event.checkpoint.offset;
  if (event.kind === 'command' && event.commands.length === 1) {
    const [c] = event.commands;
    return { type: 'command', db: c.db, argv: c.argv, offset };
  }
  const commands: Buffer[][] = [];
  let db = event.db;
  for (const c of event.commands) {
    if (c.db !== db) {
      commands.push([SELECT, Buffer.from(String(c.db))]);
      db = c.db;
    }
    commands.push(c.argv);
  }
  return { type: 'transaction', db: event.db, commands, offset };
}

/** An RDB key; `fullResyncOffset` is the offset of the +FULLRESYNC the RDB belongs to. */
export function itemFromRdbKey(event: RdbKeyEvent, fullResyncOffset: number): SnapshotItem {
  const item: SnapshotItem = {
    type: 'snapshot',
    db: event.db,
    key: event.key,
    payload: event.payload,
    // the parser says -1 for "no expiry"; RESTORE … ABSTTL wants 0
    expireAt: event.expireAt < 0 ? 0 : event.expireAt,
    offset: fullResyncOffset,
  };
  if (event.idle !== undefined) item.idleSeconds = event.idle;
  if (event.freq !== undefined) item.freq = event.freq;
  return item;
}

export function itemFromRdbFunction(event: RdbFunctionEvent, fullResyncOffset: number): SnapshotFunctionItem {
  return { type: 'snapshot-function', code: event.code, offset: fullResyncOffset };
}
