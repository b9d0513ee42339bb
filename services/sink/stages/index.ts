import { TandemError } from '../../shared/errors';
import { loadFolder } from '../../shared/folder-registry';
import type { Stage, StageContext, StageEntry, Verdict } from './stage';

export type { Stage, StageContext, StageEntry, Verdict } from './stage';

/**
 * The stages every decoded event goes through: every file of this folder
 * but this one and stage.ts exports its StageEntry as `stage`, and they run
 * by `order`. The order matters: the origin rule first (most events of a
 * peer topic that are not for this sink stop there), reserved keys before
 * anything reads the key, keyless barriers before the slot check (they have
 * none), then snapshots and server deletions. A new stage is one new file.
 */
export const STAGE_ENTRIES: readonly StageEntry[] = loadFolder<StageEntry>(__dirname, 'stage', ['index', 'stage']).sort((a, b) => a.order - b.order);
for (let i = 1; i < STAGE_ENTRIES.length; i++) {
  const [a, b] = [STAGE_ENTRIES[i - 1], STAGE_ENTRIES[i]];
  if (a.order === b.order) throw new TandemError('INTERNAL', `sink stages ${a.name} and ${b.name} share order ${a.order}: give each its own place`);
}

export const STAGES: readonly Stage[] = STAGE_ENTRIES.map((e) => e.run);

/** The first verdict of the stages; undefined: the event is applied as it is. */
export function judge(item: Parameters<Stage>[0], ctx: StageContext, stages: readonly Stage[] = STAGES): Verdict | undefined {
  for (const stage of stages) {
    const v = stage(item, ctx);
    if (v !== undefined) return v;
  }
  return undefined;
}
