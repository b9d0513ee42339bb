import { filterEvent } from '../filter';
import type { Stage, StageEntry } from './stage';

/** The origin rule on each decoded event (filter.ts): markers, own-origin and other-origin events are dropped. */
export const originFilter: Stage = (item, ctx) => {
  const d = filterEvent(item.event, ctx.filter);
  return d.action === 'drop' ? { drop: d.reason } : undefined;
};

/** First: most events of a peer topic that are not for this sink stop here. */
export const stage: StageEntry = { name: 'origin-filter', order: 10, run: originFilter };
