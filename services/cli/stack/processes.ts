import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { TandemError } from '../../shared/errors';
import { sleep } from '../../shared/retry';

/**
 * Process helpers for the local stack. Services are started detached (their
 * own process group, output to a log file) so that `tandem stack up` can return
 * while they keep running; `down` stops them by pid, and checks the pid still
 * runs the program we started so a recycled pid is never killed.
 */
export interface StartedProcess {
  name: string;
  pid: number;
  /**
   * Substrings of /proc/<pid>/cmdline that identify our process, separated by
   * `||` (any one matches): redis-server rewrites its title after start, so
   * its marker names both forms.
   */
  marker: string;
  logFile: string;
}

export function startDetached(name: string, cmd: string, args: string[], logFile: string, marker: string, cwd?: string): StartedProcess {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], cwd });
    if (child.pid === undefined) {
      throw new TandemError('STACK_START_FAILED', `could not start ${name} (${cmd}); see ${logFile}`);
    }
    child.unref();
    return { name, pid: child.pid, marker, logFile };
  } finally {
    closeSync(fd);
  }
}

/** True when `pid` runs and its command line contains `marker`. */
export function isOurProcess(pid: number, marker: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    if (!marker.split('||').some((m) => cmdline.includes(m))) return false;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3 is the state; a zombie has exited and waits only to be reaped.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z';
  } catch {
    return false; // no such process
  }
}

/**
 * The kernel's start time of a live process (field 22 of /proc/<pid>/stat),
 * or undefined once it is gone or a zombie. Unlike the command line, which
 * reads empty while an exiting process still holds its sockets, it tells
 * "exited" exactly, and a reused pid has another start time.
 */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined; // no such process
  }
}

/** A pid's /proc entry exists (a zombie included). */
function inProcessTable(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/** Longest wait for an exited process to be reaped by its parent (init, for the stack's detached processes). */
const REAP_WAIT_MS = 5000;

/**
 * SIGTERM, then SIGKILL after `graceMs`; resolves only once the process has
 * exited, and, for up to REAP_WAIT_MS more, been reaped: an exited
 * redis-server stays in the process table as a zombie for a moment, which a
 * check right after `stack down` (pgrep) took for a live one.
 */
export async function stopProcess(p: StartedProcess, graceMs = 10_000): Promise<'stopped' | 'killed' | 'not-running'> {
  if (!isOurProcess(p.pid, p.marker)) return 'not-running';
  const started = startTime(p.pid);
  const alive = () => started !== undefined && startTime(p.pid) === started;
  const reaped = async () => {
    for (let waited = 0; waited < REAP_WAIT_MS && inProcessTable(p.pid) && startTime(p.pid) === undefined; waited += 50) await sleep(50);
  };
  signal(p.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!alive()) {
      await reaped();
      return 'stopped';
    }
    await sleep(50);
  }
  signal(p.pid, 'SIGKILL');
  for (let i = 0; i < 100 && alive(); i++) await sleep(50);
  if (alive()) {
    throw new TandemError('STACK_START_FAILED', `${p.name} (pid ${p.pid}) survived SIGKILL`);
  }
  await reaped();
  return 'killed';
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    // ESRCH: it exited between our check and the signal, which is what we wanted.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * Why a started process is gone, from the last telling lines of its logs, or
 * undefined while it runs. Lets a wait fail at once with the real cause
 * (e.g. "bind: Address already in use") instead of timing out.
 */
export function exitReason(p: StartedProcess, logFiles: string[]): string | undefined {
  if (isOurProcess(p.pid, p.marker)) return undefined;
  const lines = logFiles.flatMap((f) => {
    try {
      return readFileSync(f, 'utf8').split('\n').filter((l) => l.trim() !== '');
    } catch {
      return []; // no such log yet
    }
  });
  const telling = lines.filter((l) => /error|warning|failed|exception|address already in use/i.test(l));
  const detail = (telling.length > 0 ? telling : lines).slice(-2).join(' | ');
  return `${p.name} (pid ${p.pid}) exited${detail ? `: ${detail}` : ''}; logs: ${logFiles.join(', ')}`;
}

export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  intervalMs = 250,
  gone: () => string | undefined = () => undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const reason = gone();
    if (reason !== undefined) throw new TandemError('STACK_START_FAILED', `${what}: ${reason}`);
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err; // kept for the timeout message below
    }
    await sleep(intervalMs);
  }
  const detail = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
  throw new TandemError('STACK_START_FAILED', `timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
}
