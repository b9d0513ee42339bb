import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isOurProcess } from '../../../services/cli/stack/processes';
import { readStackState } from '../../../services/cli/stack/stack';
import { packageRoot } from '../../../services/shared/paths';

/**
 * The README's main command, end to end: `tandem demo --duration 15` starts
 * its own stack (on ports of its own), sources and sinks for both DCs and a
 * load in both, prints the live table, verifies both clusters hold the same
 * data, and stops everything it started.
 */
const CLI = join(packageRoot(), 'dist', 'services', 'bin', 'tandem.js');
const offset = Number(process.env.TANDEM_TEST_PORT_OFFSET ?? 0);
const stateDir = join(packageRoot(), '.tandem', `demo-test-stack-${offset}`);

describe('tandem demo', () => {
  test('replicates live both ways, shows the table, verifies convergence and leaves no process behind', () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
    const res = spawnSync(process.execPath, [CLI, 'demo', '--duration', '15', '--rate', '100'], {
      encoding: 'utf8',
      timeout: 240_000,
      env: {
        ...process.env,
        TANDEM_STATE_DIR: stateDir,
        // Below 32768: a listening port in Linux's ephemeral range (32768-60999)
        // can already be taken by an outgoing connection, and bind fails.
        TANDEM_KAFKA_PORT: String(23092 + offset),
        TANDEM_KAFKA_CONTROLLER_PORT: String(23093 + offset),
        TANDEM_REDIS_A_PORT: String(22000 + offset), // cluster bus on 32000+
        TANDEM_REDIS_B_PORT: String(22100 + offset),
        TANDEM_DEMO_PORT_BASE: String(23600 + offset),
      },
    });
    const output = `${res.stdout}\n${res.stderr}`;
    if (res.status !== 0) throw new Error(`demo exited with ${res.status}:\n${output.slice(-3000)}`);
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/direction\s+events\/s\s+lag ms avg\s+applied\s+dropped as echo\s+DLQ/);
    expect(res.stdout).toMatch(/a → b\s+\d+/);
    expect(res.stdout).toMatch(/b → a\s+\d+/);
    const verified = /verified: (\d+) keys compared in both directions/.exec(res.stdout);
    expect(verified).not.toBeNull();
    expect(Number(verified![1])).toBeGreaterThan(100);
    // Both directions applied something, and the echoes were dropped.
    const last = res.stdout.split('\n').filter((l) => /^(a → b|b → a)/.test(l)).slice(-2);
    for (const row of last) {
      const [, , , applied, echo, dlq] = row.split(/\s{2,}/).map((x) => x.trim());
      expect(Number(applied)).toBeGreaterThan(0);
      expect(Number(echo)).toBeGreaterThan(0);
      expect(Number(dlq)).toBe(0);
    }
    // The stack it started is down: no state left, no process running.
    const state = readStackState(stateDir);
    expect(state === undefined || state.processes.every((p) => !isOurProcess(p.pid, p.marker))).toBe(true);
  });
});
