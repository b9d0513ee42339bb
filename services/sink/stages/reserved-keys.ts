import { EVENT_FLAGS } from '../../shared/change-event';
import { isMarkerKey } from '../../shared/marker';
import type { Stage, StageEntry } from './stage';

/**
 * Writes of reserved `__tandem:` keys (DESIGN §3). A full resync of the
 * source DC carries its own markers (what its sinks applied of each peer):
 * that DC's bookkeeping, meaningless here, dropped like a marker. Any other
 * reserved-key write came from a client: never applied as data, kept in the
 * DLQ so nothing is lost.
 */
export const reservedKeys: Stage = (item) => {
  const e = item.event;
  if (!e.flags.includes(EVENT_FLAGS.reservedKey)) return undefined;
  if (e.kind === 'snapshot' && isMarkerKey(e.commands[0]?.[1] ?? '')) return { drop: 'marker' };
  return { dlq: 'reserved-key', error: 'write of a reserved __tandem: key from a client; the sink never applies it', dropped: 'reserved-key' };
};

/** Before anything else reads the event's key. */
export const stage: StageEntry = { name: 'reserved-keys', order: 20, run: reservedKeys };
