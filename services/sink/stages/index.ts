import { keyless, slotCheck } from './keyless';
import { originFilter } from './origin-filter';
import { reservedKeys } from './reserved-keys';
import { serverDeletions } from './server-deletions';
import { snapshots } from './snapshots';
import type { Stage, StageContext, Verdict } from './stage';

export type { Stage, StageContext, Verdict } from './stage';

/**
 * The stages every decoded event goes through, in order (stage.ts). The
 * order matters: the origin rule first (most events of a peer topic that are
 * not for this sink stop there), reserved keys before anything reads the
 * key, keyless barriers before the slot check (they have none).
 */
export const STAGES: readonly Stage[] = [originFilter, reservedKeys, keyless, slotCheck, snapshots, serverDeletions];

/** The first verdict of the stages; undefined: the event is applied as it is. */
export function judge(item: Parameters<Stage>[0], ctx: StageContext, stages: readonly Stage[] = STAGES): Verdict | undefined {
  for (const stage of stages) {
    const v = stage(item, ctx);
    if (v !== undefined) return v;
  }
  return undefined;
}
