import type { Stage, StageEntry } from './stage';

/** Keyless (control) events are barriers: the keyed writes before them are applied first, then they run on every master. */
export const keyless: Stage = (item) => (item.event.kind === 'control' ? { keyless: true } : undefined);

/** Every other event names a slot; one without is malformed. */
export const slotCheck: Stage = (item) => (item.event.slot < 0 ? { dlq: 'invalid-event', error: `${item.event.kind} event without a slot` } : undefined);

/** Keyless barriers before the slot check (they have no slot). */
export const stage: StageEntry[] = [
  { name: 'keyless', order: 30, run: keyless },
  { name: 'slot-check', order: 40, run: slotCheck },
];
