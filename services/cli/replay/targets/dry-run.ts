import type { Command } from 'commander';
import type { Target, WriteResult } from '../../../sink/apply/target';
import type { ReplayItem } from '../select';
import type { TargetKind } from '../target-kind';

/** --dry-run: applies nothing, counts what would be applied. */
export class DryRunOutput implements Target {
  async write(items: ReplayItem[]): Promise<WriteResult> {
    return { applied: items.length, rejected: [] };
  }
  async close(): Promise<void> {}
}

export const target: TargetKind = {
  choice: '--dry-run',
  addOptions: (cmd: Command) => cmd.option('--dry-run', 'apply nothing; count what would be applied'),
  chosen: (opts) => opts.dryRun === true,
  check: () => undefined,
  open: async () => ({ target: new DryRunOutput(), description: 'dry run', appliesNothing: true }),
};
