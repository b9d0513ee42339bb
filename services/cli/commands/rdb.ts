import { InvalidArgumentError, type Command } from 'commander';
import { inspectRdb } from '../../rdb';

/**
 * Registers `tandem rdb inspect FILE` on the CLI's commander program. Errors
 * propagate to the CLI's single handler (only main ends the process).
 */
export function registerRdbCommand(program: Command): Command {
  const rdb = program.command('rdb').description('Read RDB files');
  rdb
    .command('inspect')
    .description('Print every key of an RDB file as one JSON line (RESTORE payload and decoded value); a summary goes to stderr')
    .argument('<file>', 'path to the RDB file')
    .option('--max-key-bytes <n>', 'print payload and value only for keys up to this many bytes', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a byte count, got "${v}"`);
      return n;
    }, 512 * 1024 * 1024)
    .option('--no-values', 'do not decode values (payloads only)')
    .action(async (file: string, opts: { maxKeyBytes: number; values: boolean }) => {
      await inspectRdb(file, process.stdout, process.stderr, { maxKeyBytes: opts.maxKeyBytes, noValues: !opts.values });
    });
  return rdb;
}
