import { expiryItem } from '../apply/expiry';
import type { Stage, StageEntry } from './stage';

/**
 * Deletions the peer's server made (DESIGN §5 hazard 2). An eviction is
 * dropped unless `sink.applyEvictions` (the peer was under memory pressure;
 * this DC is not). An expiry becomes a delete conditional on the key being
 * due here too (apply/expiry.ts).
 */
export const serverDeletions: Stage = (item, ctx) => {
  const kind = item.event.kind;
  if (kind === 'eviction' && !ctx.sink.applyEvictions) return { drop: 'eviction' };
  if (kind !== 'expiry') return undefined;
  const conditional = expiryItem(item, ctx.sink.expirySkewMs);
  return conditional === undefined ? { dlq: 'invalid-event', error: 'expiry event without a one-key DEL/UNLINK' } : { apply: conditional };
};

export const stage: StageEntry = { name: 'server-deletions', order: 60, run: serverDeletions };
