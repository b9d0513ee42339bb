import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isOurProcess, stopProcess, type StartedProcess } from '../../services/cli/stack/processes';

/**
 * `tandem stack down` returns only once every process it stopped is gone
 * (issue: it returned while the redis-servers were still in the process
 * table, so a check right after it found them). The stack's servers outlive
 * the `stack up` that started them: their parent is init, which reaps them a
 * moment after they exit. Here too: redis-server is started by a shell that
 * exits at once.
 */
const PORT = 21990;

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });

test('stopProcess returns only after the process has exited, released its port and left the process table', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-stop-'));
  const log = join(dir, 'redis.log');
  const pid = Number(
    execFileSync('sh', ['-c', `redis-server --port ${PORT} --bind 127.0.0.1 --save '' --appendonly no >${log} 2>&1 & echo $!`], { encoding: 'utf8' }).trim(),
  );
  const p: StartedProcess = { name: 'redis-stop-test', pid, marker: `127.0.0.1:${PORT}||--port ${PORT}`, logFile: log };
  try {
    for (let i = 0; i < 100 && (await refused(PORT)); i++) await new Promise((res) => setTimeout(res, 50));
    expect(await refused(PORT)).toBe(false);
  } finally {
    expect(await stopProcess(p)).toBe('stopped');
  }
  expect(existsSync(`/proc/${pid}`)).toBe(false); // not even a zombie
  expect(await refused(PORT)).toBe(true);
  rmSync(dir, { recursive: true, force: true });
});

test('stopProcess SIGKILLs a process that outlives the grace period, and returns once it is gone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-stop-'));
  const ready = join(dir, 'tandem-stop-test-ignores-sigterm');
  // A process that ignores SIGTERM (and says so in a file once it does), started by a shell that exits at
  // once: its parent is init, as for the stack's processes.
  const script = "process.on('SIGTERM', () => undefined); require('fs').writeFileSync(process.argv[1], 'ready'); setInterval(() => undefined, 1000)";
  const pid = Number(execFileSync('sh', ['-c', `${process.execPath} -e "${script}" ${ready} >/dev/null 2>&1 & echo $!`], { encoding: 'utf8' }).trim());
  const p: StartedProcess = { name: 'ignores-sigterm', pid, marker: ready, logFile: '/dev/null' };
  try {
    for (let i = 0; i < 200 && !existsSync(ready); i++) await new Promise((res) => setTimeout(res, 50));
    expect(isOurProcess(pid, ready)).toBe(true);
    const started = Date.now();
    expect(await stopProcess(p, 500)).toBe('killed');
    expect(Date.now() - started).toBeGreaterThanOrEqual(500); // it had its grace period
    expect(existsSync(`/proc/${pid}`)).toBe(false); // not even a zombie
  } finally {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone: what the test expects
    }
    rmSync(dir, { recursive: true, force: true });
  }
});
