import type { ChangeEvent, EventHeaderValues, EventKind } from '../shared/change-event';

/**
 * The origin rule (DESIGN §3): the sink of DC X reading `tandem.Y.changes`
 * applies an event only when its origin is Y (the write was made in Y). It
 * drops events of its own origin (they came back), of any other origin (in a
 * mesh, that DC's own sink delivers them), and every `marker`.
 *
 * The decision is made from the Kafka headers, so dropped events are never
 * decoded. A record without the headers is decoded and judged the same way.
 */
export type DropReason = 'marker' | 'own-origin' | 'other-origin';

export type FilterDecision =
  | { action: 'keep' }
  | { action: 'drop'; reason: DropReason }
  /** The headers do not say enough: decode the value and call `filterEvent`. */
  | { action: 'decode' };

export interface FilterContext {
  /** this sink's DC */
  localDc: string;
  /** the DC of the topic being read: tandem.<topicDc>.changes */
  topicDc: string;
}

function decide(origin: string, kind: EventKind | undefined, ctx: FilterContext): FilterDecision {
  if (kind === 'marker') return { action: 'drop', reason: 'marker' };
  if (origin === ctx.localDc) return { action: 'drop', reason: 'own-origin' };
  if (origin !== ctx.topicDc) return { action: 'drop', reason: 'other-origin' };
  // A kept event's kind decides how it is applied; without the header we must decode.
  return kind === undefined ? { action: 'decode' } : { action: 'keep' };
}

export function filterHeaders(h: EventHeaderValues, ctx: FilterContext): FilterDecision {
  if (h.kind === 'marker') return { action: 'drop', reason: 'marker' };
  if (h.origin === undefined) return { action: 'decode' };
  return decide(h.origin, h.kind, ctx);
}

/** The same rule on a decoded event (records without headers, and a check that headers agree). */
export function filterEvent(e: Pick<ChangeEvent, 'origin' | 'kind'>, ctx: FilterContext): { action: 'keep' } | { action: 'drop'; reason: DropReason } {
  const d = decide(e.origin, e.kind, ctx);
  return d.action === 'drop' ? d : { action: 'keep' };
}

/** `tandem.<dc>.changes` → dc, or undefined for any other topic name. */
export function topicDcOf(topic: string): string | undefined {
  const m = /^tandem\.([a-z0-9][a-z0-9-]{0,31})\.changes$/.exec(topic);
  return m === null ? undefined : m[1];
}
