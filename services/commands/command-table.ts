/**
 * The master's command table, read from its `COMMAND` reply (DESIGN §2: keys
 * come from the master's key specs, so module commands work too). It answers
 * the one question the event builder asks of every propagated command: which
 * of its arguments are keys.
 */
import { keyPositions, type ExtractOptions } from './key-extraction';
import { parseCommandReply, type CommandInfo } from './key-specs';

export class CommandTable {
  private constructor(private readonly commands: ReadonlyMap<string, CommandInfo>) {}

  /** From the reply of `COMMAND` (ioredis `call('COMMAND')` or `callBuffer('COMMAND')`). */
  static fromCommandReply(reply: unknown): CommandTable {
    return new CommandTable(parseCommandReply(reply));
  }

  get size(): number {
    return this.commands.size;
  }

  /** True when the server sent key specs (Redis 7.0+); false means legacy ranges only. */
  get hasKeySpecs(): boolean {
    for (const info of this.commands.values()) return info.keySpecs !== undefined;
    return false;
  }

  /** A command by lowercase name, or `container|sub`. */
  get(name: string): CommandInfo | undefined {
    const bar = name.indexOf('|');
    if (bar === -1) return this.commands.get(name.toLowerCase());
    return this.commands.get(name.slice(0, bar).toLowerCase())?.subcommands.get(name.toLowerCase());
  }

  /**
   * The CommandInfo that applies to argv: the subcommand's for container
   * commands (`XGROUP CREATE …` → `xgroup|create`), else the command's.
   * undefined when the server does not know the command.
   */
  lookup(argv: readonly Buffer[]): CommandInfo | undefined {
    if (argv.length === 0) return undefined;
    const name = argv[0].toString('latin1').toLowerCase();
    const info = this.commands.get(name);
    if (info === undefined || info.subcommands.size === 0 || argv.length < 2) return info;
    return info.subcommands.get(`${name}|${argv[1].toString('latin1').toLowerCase()}`) ?? info;
  }

  /**
   * The key arguments of argv (the same Buffers, not copies), as `COMMAND
   * GETKEYS` would return them. undefined for a command the table does not know.
   */
  extractKeys(argv: readonly Buffer[], opts?: ExtractOptions): Buffer[] | undefined {
    const info = this.lookup(argv);
    if (info === undefined) return undefined;
    return keyPositions(info, argv, opts).map((i) => argv[i]);
  }

  /** A bound extractor for one command, for callers that resolve the name once. */
  extractorFor(name: string): ((argv: readonly Buffer[]) => Buffer[]) | undefined {
    const info = this.get(name);
    if (info === undefined) return undefined;
    return (argv) => keyPositions(info, argv).map((i) => argv[i]);
  }
}
