import { Command } from 'commander';
import { addTargetOptions, chooseTarget, TARGET_KINDS } from '../../../services/cli/replay/targets';

/** replay's targets are the files of cli/replay/targets/: their options, and how the options choose one. */
describe('replay targets', () => {
  const parse = (args: string[]) => {
    const cmd = addTargetOptions(new Command('replay').exitOverride());
    cmd.parse(args, { from: 'user' });
    return cmd.opts();
  };

  test('every file of the folder is a target, each offering its options', () => {
    expect(TARGET_KINDS.map((k) => k.choice)).toEqual(['--dry-run', '--out FILE', '--target URL']);
    const help = addTargetOptions(new Command('replay')).helpInformation();
    for (const option of ['--dry-run', '--out <file>', '--format <format>', '--markers', '--target <url>', '--target-password-env <var>', '--resume', '--max-commands-per-transaction <n>']) expect(help).toContain(option);
  });

  test('the options choose exactly one target', () => {
    expect(chooseTarget(parse(['--dry-run'])).choice).toBe('--dry-run');
    expect(chooseTarget(parse(['--out', '-', '--format', 'jsonl'])).choice).toBe('--out FILE');
    expect(chooseTarget(parse(['--target', 'redis://127.0.0.1:7000'])).choice).toBe('--target URL');
    expect(() => chooseTarget(parse([]))).toThrow('give exactly one of --dry-run, --out FILE or --target URL');
    expect(() => chooseTarget(parse(['--dry-run', '--out', 'x']))).toThrow('give exactly one of');
  });

  test("each target checks its own options, also when another target is chosen", () => {
    expect(() => chooseTarget(parse(['--dry-run', '--resume']))).toThrow('--resume needs --target');
    expect(() => chooseTarget(parse(['--dry-run', '--markers']))).toThrow('--markers needs --out with --format resp');
    expect(() => chooseTarget(parse(['--out', 'x', '--format', 'jsonl', '--markers']))).toThrow('--markers needs --out with --format resp');
    expect(() => chooseTarget(parse(['--target', 'redis://127.0.0.1:7000', '--target-password-env', 'TANDEM_TEST_UNSET_VAR']))).toThrow(/TANDEM_TEST_UNSET_VAR .* is not set/);
  });
});
