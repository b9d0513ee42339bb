import type { Command } from 'commander';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from '../../shared/logger';
import type { Target } from '../../sink/apply/target';

/**
 * One kind of place `tandem replay` writes to (a Redis target, a file, a dry
 * run). Each is one file of `targets/` exporting its kind as `target`;
 * `targets/index.ts` loads them all, adds their options to the command and
 * opens the one the options choose. A new target is one new file there.
 */
export interface TargetKind {
  /** the option that chooses it, as usage errors name it: `--target URL` */
  readonly choice: string;
  /** adds this kind's options to `tandem replay` */
  addOptions(cmd: Command): Command;
  /** whether the options choose this kind */
  chosen(opts: ReplayTargetOptions): boolean;
  /** usage errors of this kind's own options (also when another kind is chosen), before any work */
  check(opts: ReplayTargetOptions): void;
  open(opts: ReplayTargetOptions, ctx: TargetContext): Promise<OpenedTarget>;
}

/** replay's parsed options (commander), as each kind reads its own. */
export type ReplayTargetOptions = Record<string, unknown>;

export interface TargetContext {
  /** from the --tls-* options, when given */
  tls: ConnectionOptions | undefined;
  log: Logger;
}

export interface OpenedTarget {
  target: Target;
  /** how the summary names it */
  description: string;
  /** a dry run: the summary says "would apply" */
  appliesNothing: boolean;
}
