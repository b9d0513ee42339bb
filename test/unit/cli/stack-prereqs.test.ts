import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findOnPath } from '../../../services/cli/stack/prereqs';

/**
 * `tandem stack up` with a prerequisite missing from PATH prints one clear line
 * naming the program and its package, and no stack trace. Runs the built CLI
 * (npm test builds first).
 */
const CLI = join(__dirname, '../../../dist/services/bin/tandem.js');
const PROGRAMS = ['java', 'mvn', 'redis-server', 'redis-cli'];

function pathWithout(missing: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-path-'));
  for (const p of PROGRAMS.filter((p) => p !== missing)) {
    const real = findOnPath(p);
    if (real) symlinkSync(real, join(dir, p));
  }
  return dir;
}

describe('stack up prerequisites', () => {
  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  });

  test.each([
    ['redis-server', /redis-server not found on PATH .*apt-get install redis-server/],
    ['java', /java not found on PATH .*apt-get install openjdk-17-jre-headless/],
  ])('without %s on PATH, stack up prints one line naming it and exits 1', (missing, expected) => {
    const stateDir = mkdtempSync(join(tmpdir(), 'tandem-state-'));
    const res = spawnSync(process.execPath, [CLI, 'stack', '--state-dir', stateDir, 'up'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: pathWithout(missing) },
    });
    expect(res.status).toBe(1);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(expected);
    expect(res.stderr).not.toMatch(/\bat .*\.js:\d+/); // no stack trace
  });
});
