import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEndpoints } from './endpoints';
import { CLI, type SourceProcess } from './source-process';

// Topic creation retries transient metadata errors itself (ensureTopics).
export { createDcTopics } from './source-process';

/**
 * Runs `tandem sink` as a real child process (the built CLI), like
 * startSource, so tests can SIGKILL it. `cluster` is the TARGET cluster.
 * The returned handle has the same shape as a source's (metrics, kill, log).
 */
export type SinkProcess = SourceProcess & { restart(): Promise<SinkProcess> };

let nextPort = 29700 + Number(process.env.TANDEM_TEST_PORT_OFFSET ?? 0);

export interface StartSinkOptions {
  dc: string;
  cluster: 'a' | 'b';
  peers: string[];
  /** extra lines inside the `sink:` section, e.g. ['snapshotPolicy: skip'] */
  sinkLines?: string[];
  waitReady?: boolean;
}

export async function startSink(opts: StartSinkOptions): Promise<SinkProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const e = testEndpoints();
  const seeds = opts.cluster === 'b' ? e.redisB : e.redisA;
  const dir = mkdtempSync(join(tmpdir(), `tandem-sink-${opts.dc}-`));
  const httpPort = nextPort++;
  const config = join(dir, 'sink.yaml');
  writeFileSync(
    config,
    [
      `dc: ${opts.dc}`,
      'kafka:',
      `  brokers: [${e.kafkaBrokers.join(', ')}]`,
      'redis:',
      `  nodes: [${seeds.map((s) => `${s.host}:${s.port}`).join(', ')}]`,
      'http:',
      '  host: 127.0.0.1',
      `  port: ${httpPort}`,
      'log:',
      '  level: info',
      'sink:',
      `  peers: [${opts.peers.join(', ')}]`,
      '  sessionTimeoutMs: 6000',
      ...(opts.sinkLines ?? []).map((l) => `  ${l}`),
    ].join('\n'),
  );
  const logFile = join(dir, 'sink.log');
  const launch = async (): Promise<SinkProcess> => {
    const out = createWriteStream(logFile, { flags: 'a' });
    const proc = spawn(process.execPath, [CLI, 'sink', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.pipe(out);
    proc.stderr?.pipe(out);
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${httpPort}`;
    const sp: SinkProcess = {
      dc: opts.dc,
      httpPort,
      logFile,
      proc,
      exited,
      metrics: async () => (await fetch(`${base}/metrics`)).text(),
      metric: async (name, labels = {}) => {
        const text = await sp.metrics();
        return text
          .split('\n')
          .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
          .filter((l) => Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)))
          .map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
      },
      kill: async (signal = 'SIGKILL') => {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
        await exited;
      },
      log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
      restart: launch,
    };
    if (opts.waitReady !== false) await waitSinkReady(sp);
    return sp;
  };
  return launch();
}

export async function waitSinkReady(sp: SourceProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (sp.proc.exitCode !== null) throw new Error(`sink exited with ${sp.proc.exitCode}:\n${sp.log().slice(-3000)}`);
    try {
      const r = await fetch(`http://127.0.0.1:${sp.httpPort}/readyz`);
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`sink not ready within ${timeoutMs} ms:\n${sp.log().slice(-3000)}`);
}

