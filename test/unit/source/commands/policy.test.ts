import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OncePerClusterFilter } from '../../../../services/source/commands/once-per-cluster';
import { effectiveAction, KEYLESS_POLICY, policyFor } from '../../../../services/source/commands/policy';
import { argvOf } from '../../commands/command-fixture';

describe('keyless policy table', () => {
  it('covers DESIGN §2: FUNCTION once per cluster, FLUSH* audit-only, PUBLISH opt-in, PING/REPLCONF never', () => {
    const action = (...argv: string[]): string | undefined => policyFor(argvOf(...argv))?.action;
    expect(['LOAD', 'DELETE', 'FLUSH', 'RESTORE'].map((sub) => action('FUNCTION', sub, 'x'))).toEqual(Array(4).fill('once-per-cluster'));
    expect([action('FLUSHALL'), action('flushdb', 'async')]).toEqual(['audit-only', 'audit-only']);
    expect(action('PUBLISH', 'c', 'm')).toBe('opt-in');
    expect([action('PING'), action('replconf', 'GETACK', '*')]).toEqual(['never', 'never']);
    expect(action('SELECT', '0')).toBe('track');
    expect([action('MULTI'), action('EXEC')]).toEqual(['group', 'group']);
  });

  it('has no row for ordinary or unlisted commands', () => {
    expect(policyFor(argvOf('SET', 'k', 'v'))).toBeUndefined();
    expect(policyFor(argvOf('FUNCTION', 'STATS'))).toBeUndefined();
    expect(policyFor(argvOf('ZUNIONSTORE', 'd', '1', 'z'))).toBeUndefined();
    expect(policyFor([])).toBeUndefined();
  });

  it('gives every row a reason and lists it in docs/events.md', () => {
    const docs = readFileSync(join(__dirname, '../../../../docs/events.md'), 'utf8');
    for (const row of KEYLESS_POLICY) {
      expect(row.reason.length).toBeGreaterThan(10);
      expect(docs).toContain(`| ${row.command.replace('|', ' ').toUpperCase()} | ${row.action} |`);
    }
  });

  it('resolves opt-in rows with the options', () => {
    const row = policyFor(argvOf('PUBLISH', 'c', 'm'));
    expect(row && effectiveAction(row, {})).toBe('dropped');
    expect(row && effectiveAction(row, { publish: true })).toBe('control');
  });
});

describe('once-per-cluster filter', () => {
  it('admits each occurrence once, whichever link reports it first', () => {
    const f = new OncePerClusterFilter();
    expect([f.admit('load', 's1'), f.admit('load', 's2'), f.admit('load', 's3')]).toEqual([true, false, false]);
  });

  it('admits a genuine repeat, and suppresses a lagging link’s copies whatever the interleaving', () => {
    const f = new OncePerClusterFilter();
    // s1 runs LOAD, DELETE, LOAD; s2 lags behind and reports the same later.
    const seen = [
      f.admit('load', 's1'), f.admit('del', 's1'), f.admit('load', 's1'),
      f.admit('load', 's2'), f.admit('del', 's2'), f.admit('load', 's2'),
    ];
    expect(seen).toEqual([true, true, true, false, false, false]);
    expect(f.size).toBe(2);
  });
});
