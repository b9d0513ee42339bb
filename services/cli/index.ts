import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { TandemError } from '../shared/errors';
import { packageRoot } from '../shared/paths';
import { registerRdbCommand } from './commands/rdb';
import { registerStackCommand } from './commands/stack';
import { registerDemoCommand } from './commands/demo';
import { registerTopicsCommand } from './commands/topics';
import { registerReplayCommand } from './commands/replay';
import { registerAuditCommand } from './commands/audit';
import { registerVerifyCommand } from './commands/verify';
import { registerStatusCommand } from './commands/status';
import { registerConflictsCommand } from './commands/conflicts';

/**
 * Registers a command the CLI does not own. The connectors (`source`, `sink`)
 * come in this way from the executable (services/bin/tandem.ts), so the CLI
 * never imports them: the tools depend on the event format, not on the source.
 */
export type RegisterCommand = (program: Command) => unknown;

/**
 * The `tandem` command. Exit codes: 0 ok, 1 failure (or differences found),
 * 2 usage. Errors print one line; `--verbose` adds the stack trace.
 */
export function buildProgram(connectors: readonly RegisterCommand[] = []): Command {
  const program = new Command()
    .name('tandem')
    .description('Active-active replication for Redis Cluster across data centers, through Kafka')
    .version((JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version)
    .option('--verbose', 'print stack traces on errors')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  registerDemoCommand(program);
  registerStackCommand(program);
  registerTopicsCommand(program);
  registerReplayCommand(program);
  registerAuditCommand(program);
  registerVerifyCommand(program);
  registerStatusCommand(program);
  registerConflictsCommand(program);
  for (const register of connectors) register(program);
  registerRdbCommand(program);
  return program;
}

export async function main(argv: string[], connectors: readonly RegisterCommand[] = []): Promise<number> {
  const program = buildProgram(connectors);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    // Raised by an action (kafkaFromOptions: no --brokers), so commander has
    // not printed it; from an option parser it comes back as a plain
    // CommanderError, already printed.
    if (err instanceof InvalidArgumentError) {
      process.stderr.write(`tandem: ${err.message}\n`);
      return 2;
    }
    if (err instanceof CommanderError) {
      // --help and --version also end here, with exit code 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    const verbose = argv.includes('--verbose');
    if (err instanceof TandemError && err.code === 'USAGE') {
      process.stderr.write(`tandem: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`tandem: ${err instanceof Error ? err.message : String(err)}\n`);
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
