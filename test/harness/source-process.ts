import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { readTopology } from '../../services/shared/topology/read-topology';
import type { ChangeEvent } from '../../services/shared/change-event';
import { decodeChangeRecord } from '../../services/shared/change-record';
import { ensureTopics } from '../../services/shared/topics';
import { topicsOf } from '../../services/shared/kafka-client';
import { readTopicToEnd } from '../../services/shared/topic-reader';
import { testEndpoints } from './endpoints';

/**
 * Runs `tandem source` as a real child process (the built CLI), so tests can
 * SIGKILL it like a crash would. Its stdout/stderr go to a log file kept for
 * the test's failure message.
 */
export const CLI = join(__dirname, '../../dist/services/bin/tandem.js');

export function kafka(): Kafka {
  return new Kafka({ clientId: 'tandem-test', brokers: testEndpoints().kafkaBrokers, logLevel: logLevel.NOTHING });
}

export async function createDcTopics(dc: string, partitions = 16): Promise<void> {
  const admin = kafka().admin();
  await admin.connect();
  try {
    await ensureTopics(admin, { dc, partitions, retentionMs: -1, replicationFactor: 1 });
  } finally {
    await admin.disconnect();
  }
}

export interface SourceProcess {
  dc: string;
  httpPort: number;
  logFile: string;
  proc: ChildProcess;
  exited: Promise<number | null>;
  metrics(): Promise<string>;
  metric(name: string, labels?: Record<string, string>): Promise<number[]>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  log(): string;
}

let nextPort = 29500 + Number(process.env.TANDEM_TEST_PORT_OFFSET ?? 0);

/** A cluster of the test stack ('a' or 'b'), or the seed nodes of another one (e.g. test/harness/topology-stack.ts). */
export type TestCluster = 'a' | 'b' | { host: string; port: number }[];

export async function startSource(opts: { dc: string; cluster?: TestCluster; extraYaml?: string; waitReady?: boolean }): Promise<SourceProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const httpPort = nextPort++;
  const { dir, config } = writeServiceConfig('source', opts.dc, opts.cluster ?? 'a', httpPort, [opts.extraYaml ?? '']);
  const sp = launchService('source', opts.dc, config, httpPort, join(dir, 'source.log'));
  if (opts.waitReady !== false) await waitReady(sp);
  return sp;
}

/**
 * Writes a service's config for the test stack into a fresh folder: its DC,
 * the test Kafka, the seeds of cluster `cluster`, its HTTP port, then `extra`
 * YAML lines (e.g. a `sink:` section).
 */
export function writeServiceConfig(kind: 'source' | 'sink', dc: string, cluster: TestCluster, httpPort: number, extra: string[]): { dir: string; config: string } {
  const e = testEndpoints();
  const seeds = seedsOf(cluster);
  const dir = mkdtempSync(join(tmpdir(), `tandem-${kind}-${dc}-`));
  const config = join(dir, `${kind}.yaml`);
  writeFileSync(
    config,
    [
      `dc: ${dc}`,
      'kafka:',
      `  brokers: [${e.kafkaBrokers.join(', ')}]`,
      'redis:',
      `  nodes: [${seeds.map((s) => `${s.host}:${s.port}`).join(', ')}]`,
      'http:',
      '  host: 127.0.0.1',
      `  port: ${httpPort}`,
      'log:',
      '  level: info',
      ...extra,
    ].join('\n'),
  );
  return { dir, config };
}

/**
 * Spawns `tandem <kind> --config FILE` and returns its handle: metrics over
 * HTTP, kill, and the log (appended to, so a restart keeps the history).
 * `env` is added to the child's environment (e.g. secrets given by reference).
 */
export function launchService(
  kind: 'source' | 'sink',
  dc: string,
  config: string,
  httpPort: number,
  logFile: string,
  env: Record<string, string> = {},
): SourceProcess {
  const out = createWriteStream(logFile, { flags: 'a' });
  const proc = spawn(process.execPath, [CLI, kind, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  // Two pipes into one file: neither may end it (the first to end would make the other's next write
  // fail with "write after end"). It ends on 'close', after both, and `exited` waits for it to flush,
  // so a test that reads the log after the exit reads all of it.
  proc.stdout?.pipe(out, { end: false });
  proc.stderr?.pipe(out, { end: false });
  const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => out.end(() => resolve(code))));
  const base = `http://127.0.0.1:${httpPort}`;
  const sp: SourceProcess = {
    dc,
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
  };
  return sp;
}

export async function waitReady(sp: SourceProcess, timeoutMs = 60_000, what = 'source'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (sp.proc.exitCode !== null) throw new Error(`${what} exited with ${sp.proc.exitCode}:\n${sp.log().slice(-3000)}`);
    try {
      const r = await fetch(`http://127.0.0.1:${sp.httpPort}/readyz`);
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not ready within ${timeoutMs} ms:\n${sp.log().slice(-3000)}`);
}

/** Every committed event of a DC's changes topic, decoded, with its address (partition, record offset, index in the record). */
export async function readEvents(dc: string): Promise<(ChangeEvent & { partition: number; offset: string; index: number })[]> {
  const events: (ChangeEvent & { partition: number; offset: string; index: number })[] = [];
  await readTopicToEnd(kafka(), { topic: topicsOf(dc).changes, timeoutMs: 120_000 }, (m, partition) => {
    if (m.value) decodeChangeRecord(m.value).forEach((e, index) => events.push({ ...e, partition, offset: m.offset, index }));
  });
  return events;
}

/** The seed nodes of a test cluster. */
export function seedsOf(cluster: TestCluster): { host: string; port: number }[] {
  if (Array.isArray(cluster)) return cluster;
  const e = testEndpoints();
  return cluster === 'b' ? e.redisB : e.redisA;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the source's link offsets equal every master's master_repl_offset
 * at one moment (the master pings its replicas, so compare repeatedly), and
 * its buffer is committed.
 */
export async function waitCaughtUp(sp: SourceProcess, cluster: TestCluster, timeoutMs = 60_000): Promise<void> {
  const shards = await readTopology(seedsOf(cluster));
  const deadline = Date.now() + timeoutMs;
  await waitReady(sp, timeoutMs);
  const pending = new Set(shards.map((s) => `${s.master.host}:${s.master.port}`));
  while (pending.size > 0 && Date.now() < deadline) {
    for (const name of [...pending]) {
      const [host, port] = name.split(':');
      const r = new Redis({ host, port: Number(port), lazyConnect: true });
      try {
        await r.connect();
        const offset = Number(/master_repl_offset:(\d+)/.exec(await r.info('replication'))?.[1]);
        // This master's own link (labelled with the address it started on); after a failover
        // the link keeps its first label, so a promoted master is matched against every link.
        const own = await sp.metric('tandem_source_repl_offset', { link: name });
        const candidates = own.length > 0 ? own : await sp.metric('tandem_source_repl_offset');
        if (candidates.includes(offset)) pending.delete(name);
      } finally {
        r.disconnect();
      }
    }
    if (pending.size > 0) await sleep(250);
  }
  if (pending.size > 0) throw new Error(`source never caught up with ${[...pending].join(', ')}:\n${sp.log().slice(-3000)}`);
  const [buffered] = await sp.metric('tandem_source_buffered_bytes');
  // One more commit interval so that the last events are committed, not only buffered.
  await sleep(buffered ? 1000 : 500);
}
