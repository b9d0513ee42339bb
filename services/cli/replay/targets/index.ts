import type { Command } from 'commander';
import { TandemError } from '../../../shared/errors';
import { loadFolder } from '../../../shared/folder-registry';
import type { ReplayTargetOptions, TargetKind } from '../target-kind';

/**
 * Where `tandem replay` can write: every file of this folder exports its
 * TargetKind as `target` (target-kind.ts). A new target is one new file.
 */
export const TARGET_KINDS: readonly TargetKind[] = loadFolder<TargetKind>(__dirname, 'target', ['index']);

/** Adds every kind's options to the replay command. */
export function addTargetOptions(cmd: Command): Command {
  return TARGET_KINDS.reduce((c, kind) => kind.addOptions(c), cmd);
}

/** The one kind the options choose, after every kind checked its options; a usage error otherwise. */
export function chooseTarget(opts: ReplayTargetOptions): TargetKind {
  const chosen = TARGET_KINDS.filter((k) => k.chosen(opts));
  if (chosen.length !== 1) throw new TandemError('USAGE', `give exactly one of ${oneOf(TARGET_KINDS.map((k) => k.choice))}`);
  for (const kind of TARGET_KINDS) kind.check(opts);
  return chosen[0];
}

const oneOf = (choices: string[]) => (choices.length < 2 ? choices.join('') : `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}`);
