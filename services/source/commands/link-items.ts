/**
 * Adapters from what the RDB parser emits (rdb/events.ts) to the builder's
 * stream items, so the builder stays independent of its internals. (The
 * link's ReplicationEvents are stream items as they are.)
 */
import type { RdbFunctionEvent, RdbKeyEvent } from '../../rdb';
import type { SnapshotFunctionItem, SnapshotItem } from './stream-items';

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
