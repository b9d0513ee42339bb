import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testEndpoints } from './endpoints';
import { CLI, launchService, waitReady, type SourceProcess } from './source-process';

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
    const sp: SinkProcess = { ...launchService('sink', opts.dc, config, httpPort, logFile), restart: launch };
    if (opts.waitReady !== false) await waitSinkReady(sp);
    return sp;
  };
  return launch();
}

export function waitSinkReady(sp: SourceProcess, timeoutMs = 60_000): Promise<void> {
  return waitReady(sp, timeoutMs, 'sink');
}

