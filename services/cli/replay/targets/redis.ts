import type { Command } from 'commander';
import { TandemError } from '../../../shared/errors';
import { RedisTarget } from '../../../sink/apply/target';
import { parsePositiveInt } from '../../options';
import { parseRedisUrl } from '../../redis-url';
import type { ReplayTargetOptions, TargetKind } from '../target-kind';

/**
 * --target URL: a Redis Cluster (any node) or a single node, written through
 * the sink's own Writer and anti-loop markers (sink/apply/target.ts
 * RedisTarget).
 */
interface RedisOptions {
  target?: string;
  targetPasswordEnv?: string;
  resume?: boolean;
  maxCommandsPerTransaction: number;
}

/** The --target's password from --target-password-env, else undefined (the URL's own, if any, applies). */
export function targetPassword(opts: ReplayTargetOptions): string | undefined {
  const o = opts as unknown as RedisOptions;
  if (o.targetPasswordEnv === undefined) return undefined;
  if (o.target === undefined) throw new TandemError('USAGE', '--target-password-env needs --target');
  const password = process.env[o.targetPasswordEnv];
  if (password === undefined) throw new TandemError('USAGE', `environment variable ${o.targetPasswordEnv} (the --target password) is not set`);
  return password;
}

export const target: TargetKind = {
  choice: '--target URL',
  addOptions: (cmd: Command) =>
    cmd
      .option('--target <url>', 'apply to this Redis: redis://[user:pass@]host:port (a cluster node or a single node)')
      .option('--target-password-env <var>', "take the --target's password from this environment variable")
      .option('--resume', "with --target: read the target's markers and skip events at or below them (continue an interrupted replay)")
      .option('--max-commands-per-transaction <n>', 'commands per MULTI/EXEC sent to the target', parsePositiveInt('--max-commands-per-transaction', 100_000), 1000),
  chosen: (opts) => (opts as unknown as RedisOptions).target !== undefined,
  check: (opts) => {
    const o = opts as unknown as RedisOptions;
    if (o.resume && o.target === undefined) throw new TandemError('USAGE', '--resume needs --target');
    if (o.target !== undefined) parseRedisUrl(o.target, { allowDb: true });
    targetPassword(opts);
  },
  open: async (opts, ctx) => {
    const o = opts as unknown as RedisOptions;
    const url = parseRedisUrl(o.target!, { allowDb: true });
    if (ctx.tls && !url.tls) throw new TandemError('USAGE', '--tls-* options are for a rediss:// --target');
    const t = await RedisTarget.open({
      seeds: url.seeds,
      username: url.username,
      password: targetPassword(opts) ?? url.password,
      tls: url.tls ? (ctx.tls ?? {}) : undefined,
      db: url.db,
      resume: o.resume === true,
      maxCommandsPerTransaction: o.maxCommandsPerTransaction,
      maxTransactionBytes: 16 * 1024 * 1024,
      log: ctx.log,
    });
    return { target: t, description: t.description, appliesNothing: false };
  },
};
