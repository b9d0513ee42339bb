import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { sleep } from '../../shared/retry';

/**
 * A Tandem service (`tandem source|sink --config FILE`) run as a child process
 * of the demo, with its output in a log file and its metrics scraped over HTTP.
 */
export interface ServiceProcess {
  name: string;
  proc: ChildProcess;
  httpPort: number;
  logFile: string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function startService(name: string, cli: string, kind: 'source' | 'sink', config: string, httpPort: number, logFile: string): ServiceProcess {
  const fd = openSync(logFile, 'a');
  const proc = spawn(process.execPath, [cli, kind, '--config', config], { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    name,
    proc,
    httpPort,
    logFile,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Parsed Prometheus text: `name{labels}` (labels as printed) → value. */
export type Samples = Map<string, number>;

export async function scrape(port: number): Promise<Samples> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) });
  const samples: Samples = new Map();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** Sum of every sample of `name` whose labels include all of `labels`. */
export function sum(samples: Samples, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [series, value] of samples) {
    if (series !== name && !series.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`))) total += value;
  }
  return total;
}

export async function waitHealthy(s: ServiceProcess, path: '/readyz' | '/healthz', timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (s.proc.exitCode !== null) throw new Error(`${s.name} exited with code ${s.proc.exitCode}; see ${s.logFile}`);
    try {
      const r = await fetch(`http://127.0.0.1:${s.httpPort}${path}`, { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) return;
    } catch {
      // not listening yet: try again below
    }
    await sleep(250);
  }
  throw new Error(`${s.name} not ready within ${timeoutMs} ms; see ${s.logFile}`);
}
