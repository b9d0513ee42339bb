import type { ChangeEvent } from '../shared/change-event';
import type { RecordSummary } from '../shared/change-record';

/**
 * The origin rule (DESIGN §3): the sink of DC X reading `tandem.Y.changes`
 * applies an event only when its origin is Y (the write was made in Y). It
 * drops events of its own origin (they came back), of any other origin (in a
 * mesh, that DC's own sink delivers them), and every `marker`.
 *
 * A record of many events is dropped whole, undecoded, when its headers say
 * that none of its events can be kept: no event of the topic's DC origin, or
 * markers only. Otherwise it is decoded and each event judged on its own.
 */
export type DropReason = 'marker' | 'own-origin' | 'other-origin';

export type FilterDecision =
  | { action: 'drop'; reason: DropReason }
  /** Some event may be kept: decode the value and call `filterEvent` on each. */
  | { action: 'decode' };

export interface FilterContext {
  /** this sink's DC */
  localDc: string;
  /** the DC of the topic being read: tandem.<topicDc>.changes */
  topicDc: string;
}

/** The origin rule on a record's headers: `drop` only when no event of the record could be kept. */
export function filterRecord(h: RecordSummary, ctx: FilterContext): FilterDecision {
  if (h.kinds !== undefined && h.kinds.every((k) => k === 'marker')) return { action: 'drop', reason: 'marker' };
  if (h.origins === undefined || h.origins.includes(ctx.topicDc)) return { action: 'decode' };
  if (h.origins.every((o) => o === ctx.localDc)) return { action: 'drop', reason: 'own-origin' };
  if (!h.origins.includes(ctx.localDc)) return { action: 'drop', reason: 'other-origin' };
  return { action: 'decode' }; // own and other origins mixed: decoded only to count each drop under its reason
}

/** The same rule on a decoded event (records without headers, and a check that headers agree). */
export function filterEvent(e: Pick<ChangeEvent, 'origin' | 'kind'>, ctx: FilterContext): { action: 'keep' } | { action: 'drop'; reason: DropReason } {
  if (e.kind === 'marker') return { action: 'drop', reason: 'marker' };
  if (e.origin === ctx.localDc) return { action: 'drop', reason: 'own-origin' };
  if (e.origin !== ctx.topicDc) return { action: 'drop', reason: 'other-origin' };
  return { action: 'keep' };
}

/** `tandem.<dc>.changes` → dc, or undefined for any other topic name. */
export function topicDcOf(topic: string): string | undefined {
  const m = /^tandem\.([a-z0-9][a-z0-9-]{0,31})\.changes$/.exec(topic);
  return m === null ? undefined : m[1];
}
