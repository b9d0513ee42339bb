import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A `tandem source|sink` child process for a benchmark, on `http.port: 0`
 * (a free port, read back from its "serving /metrics" log line), so a bench
 * never takes a fixed port outside its own stack's.
 */
export interface ServiceChild {
  kind: 'source' | 'sink';
  proc: ChildProcess;
  exited: Promise<number | null>;
  port: Promise<number>;
  logFile: string;
}

export interface ServiceChildOptions {
  kind: 'source' | 'sink';
  /** the built CLI, dist/services/bin/tandem.js */
  cli: string;
  /** folder for the config and the log */
  dir: string;
  /** YAML lines of the config, without `http` (added here) */
  yaml: string[];
  /** node flags, e.g. ['--cpu-prof', '--cpu-prof-dir', dir] */
  execArgv?: string[];
  cwd?: string;
}

export function startServiceChild(o: ServiceChildOptions): ServiceChild {
  const config = join(o.dir, `${o.kind}.yaml`);
  writeFileSync(config, [...o.yaml, 'http:', '  host: 127.0.0.1', '  port: 0', ''].join('\n'));
  const logFile = join(o.dir, `${o.kind}.log`);
  const out = createWriteStream(logFile, { flags: 'a' });
  const proc = spawn(process.execPath, [...(o.execArgv ?? []), o.cli, o.kind, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], cwd: o.cwd });
  // stdout is copied into the same file below: the file ends once both have closed, not when stderr does.
  proc.stderr?.pipe(out, { end: false });
  proc.once('close', () => out.end());
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const port = new Promise<number>((resolve, reject) => {
    let buffered = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out.write(d);
      if (buffered.length > 1 << 20) return; // the port line comes first; stop looking after 1 MiB
      buffered += d.toString('utf8');
      const m = /"port":(\d+)[^\n]*serving \/metrics/.exec(buffered);
      if (m) resolve(Number(m[1]));
    });
    void exited.then((code) => reject(new Error(`${o.kind} exited with ${code} before serving /metrics (log: ${logFile})`)));
  });
  port.catch(() => undefined); // observed by whoever awaits it
  return { kind: o.kind, proc, exited, port, logFile };
}

/** Waits for /readyz to answer 200, within a bound. */
export async function waitServiceReady(child: ServiceChild, timeoutMs = 60_000): Promise<number> {
  const port = await child.port;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null) throw new Error(`${child.kind} exited with ${child.proc.exitCode} (log: ${child.logFile})`);
    const r = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
    if (r?.status === 200) return port;
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`${child.kind} not ready within ${timeoutMs} ms (log: ${child.logFile})`);
}

/** SIGTERM (a --cpu-prof profile is written on that clean exit), SIGKILL after 30 s. */
export async function stopServiceChild(child: ServiceChild): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  const stopped = await Promise.race([child.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 30_000))]);
  if (!stopped) {
    child.proc.kill('SIGKILL');
    await child.exited;
  }
}

/** Sum of a metric's samples whose labels include `labels`, from Prometheus text. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
