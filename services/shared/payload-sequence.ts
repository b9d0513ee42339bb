import type { ChangeEvent } from './change-event';
import { EVENT_FLAGS } from './change-event';

/**
 * A big key's RESTORE payload travels as a *sequence* of snapshot events of
 * the key's slot: `payload-chunk` events 0..n-1, then the `payload-last`
 * RESTORE, element n (docs/events.md#big-keys). Every element carries two
 * flags besides:
 *
 *   rdb-transfer:<id>   the RDB transfer (one full sync's RDB) the sequence was
 *                       read from: a random id the source makes when the RDB
 *                       begins. Not (replid, offset of +FULLRESYNC): an idle
 *                       master answers two full syncs with the same pair.
 *   chunk:<i>           the element's index in its sequence; the payload-last's
 *                       index is the number of chunks before it.
 *
 * They are flags, not schema fields, so no format version is needed and a
 * reader that does not know them reads the events as before. Events written
 * before them carry neither: readers take such chunks as one sequence per
 * key, as they always did.
 */
export const RDB_TRANSFER_FLAG = 'rdb-transfer:';
export const CHUNK_INDEX_FLAG = 'chunk:';

export interface PayloadTag {
  /** undefined for events written before transfer ids */
  transfer: string | undefined;
  /** undefined for events written before chunk indexes */
  index: number | undefined;
}

export function payloadTagFlags(transfer: string, index: number): string[] {
  return [`${RDB_TRANSFER_FLAG}${transfer}`, `${CHUNK_INDEX_FLAG}${index}`];
}

/** The transfer and index of a payload-chunk or payload-last event (undefined parts when absent or malformed). */
export function payloadTagOf(flags: readonly string[]): PayloadTag {
  let transfer: string | undefined;
  let index: number | undefined;
  for (const f of flags) {
    if (f.startsWith(RDB_TRANSFER_FLAG)) {
      const id = f.slice(RDB_TRANSFER_FLAG.length);
      if (id.length > 0) transfer = id;
    } else if (f.startsWith(CHUNK_INDEX_FLAG)) {
      const text = f.slice(CHUNK_INDEX_FLAG.length);
      if (/^(0|[1-9][0-9]{0,9})$/.test(text)) index = Number(text);
    }
  }
  return { transfer, index };
}

export type PayloadPart = 'chunk' | 'last';

/** Whether an event is part of a big key's sequence, and which. */
export function payloadPartOf(event: Pick<ChangeEvent, 'kind' | 'flags'>): PayloadPart | undefined {
  if (event.kind !== 'snapshot') return undefined;
  if (event.flags.includes(EVENT_FLAGS.payloadChunk)) return 'chunk';
  if (event.flags.includes(EVENT_FLAGS.payloadLast)) return 'last';
  return undefined;
}

/** The key of a sequence element: argv[0] of a chunk `[key, bytes]`, argv[1] of the RESTORE. */
export function payloadKeyOf(event: ChangeEvent, part: PayloadPart): Buffer | undefined {
  const argv = event.commands[0];
  return part === 'chunk' ? argv?.[0] : argv?.[1];
}
