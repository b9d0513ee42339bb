import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { Command } from 'commander';
import { createKafka } from '../../shared/kafka-client';
import { ensureTopics } from '../../shared/topics';
import { packageRoot } from '../../shared/paths';
import { defaultStackSettings, readStackState, stackDown, stackUp, type StackEndpoints } from '../stack/stack';
import { seedNodes } from '../stack/check';
import { isOurProcess } from '../stack/processes';
import { DemoLoad } from '../demo/load';
import { scrape, startService, sum, waitHealthy, type ServiceProcess, type Samples } from '../demo/service-process';
import { compareClusters } from '../verify/compare';
import { parsePositiveInt } from '../options';
import { sleep } from '../../shared/retry';

/**
 * `tandem demo`: the README's main command. It starts the local stack, a
 * source and a sink for each of DCs a and b, drives a small write load in
 * both, and shows live, per direction, what replicates. On Ctrl-C (or after
 * --duration) it stops the load, waits for the clusters to converge, and
 * verifies that both hold the same data.
 */
/** HTTP ports of the four services: TANDEM_DEMO_PORT_BASE + 1…4 (default 19600). */
const base = Number(process.env.TANDEM_DEMO_PORT_BASE ?? 19600);
const PORTS = { 'source-a': base + 1, 'source-b': base + 2, 'sink-a': base + 3, 'sink-b': base + 4 } as const;

function configYaml(dc: string, kafka: string, redis: string, port: number, sinkPeer?: string): string {
  const lines = [
    `dc: ${dc}`,
    'kafka:',
    `  brokers: [${kafka}]`,
    'redis:',
    `  nodes: [${redis.split(',').join(', ')}]`,
    'http:',
    '  host: 127.0.0.1',
    `  port: ${port}`,
  ];
  if (sinkPeer) lines.push('sink:', `  peers: [${sinkPeer}]`, '  sessionTimeoutMs: 10000');
  return `${lines.join('\n')}\n`;
}

interface DirectionStats {
  applied: number;
  echo: number;
  dlq: number;
  latencySum: number;
  latencyCount: number;
}

function directionStats(s: Samples): DirectionStats {
  return {
    applied: sum(s, 'tandem_sink_events_applied_total'),
    echo: sum(s, 'tandem_sink_events_dropped_total', { reason: 'own-origin' }) + sum(s, 'tandem_sink_events_dropped_total', { reason: 'marker' }),
    dlq: sum(s, 'tandem_sink_dlq_total'),
    latencySum: sum(s, 'tandem_sink_apply_latency_seconds_sum'),
    latencyCount: sum(s, 'tandem_sink_apply_latency_seconds_count'),
  };
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('run the local two-DC demo: stack, sources and sinks for a and b, a write load in both, live stats, then a verification')
    .option('--duration <seconds>', 'stop by itself after this many seconds (default: run until Ctrl-C)', parsePositiveInt('--duration', 86_400))
    .option('--rate <ops>', 'client writes per second in each DC', parsePositiveInt('--rate', 20_000), 200)
    .option('--keep', 'leave the stack running afterwards (stop it with `tandem stack down`)')
    .action(async (opts: { duration?: number; rate: number; keep?: boolean }) => {
      await runDemo(opts);
    });
}

async function runDemo(opts: { duration?: number; rate: number; keep?: boolean }): Promise<void> {
  const settings = defaultStackSettings();
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const existing = readStackState(settings.stateDir);
  const reuse = existing?.processes.every((p) => isOurProcess(p.pid, p.marker)) ?? false;
  const state = reuse && existing ? existing : await stackUp(settings, say);
  if (reuse) say(`using the running stack in ${settings.stateDir}`);
  const e: StackEndpoints = state.endpoints;
  const dir = join(packageRoot(), '.tandem', 'demo');
  mkdirSync(dir, { recursive: true });
  const services: ServiceProcess[] = [];
  const clusters: Cluster[] = [];
  let failed = false;
  try {
    const admin = createKafka({ brokers: [e.kafkaBrokers], clientId: 'tandem' }, 'demo').admin();
    await admin.connect();
    for (const dc of ['a', 'b']) await ensureTopics(admin, { dc, partitions: 16, retentionMs: 24 * 3600 * 1000, replicationFactor: 1 });
    await admin.disconnect();

    const cli = join(packageRoot(), 'dist', 'services', 'bin', 'tandem.js');
    const specs = [
      { name: 'source-a', kind: 'source', yaml: configYaml('a', e.kafkaBrokers, e.redisA, PORTS['source-a']) },
      { name: 'source-b', kind: 'source', yaml: configYaml('b', e.kafkaBrokers, e.redisB, PORTS['source-b']) },
      { name: 'sink-a', kind: 'sink', yaml: configYaml('a', e.kafkaBrokers, e.redisA, PORTS['sink-a'], 'b') },
      { name: 'sink-b', kind: 'sink', yaml: configYaml('b', e.kafkaBrokers, e.redisB, PORTS['sink-b'], 'a') },
    ] as const;
    for (const s of specs) {
      const config = join(dir, `${s.name}.yaml`);
      writeFileSync(config, s.yaml);
      services.push(startService(s.name, cli, s.kind, config, PORTS[s.name], join(dir, `${s.name}.log`)));
    }
    say(`started sources and sinks for DCs a and b (configs and logs in ${dir})`);
    await Promise.all(services.map((s) => waitHealthy(s, '/readyz', 120_000)));
    say('all four services ready; writing to both clusters');

    const [ca, cb] = [new Cluster(seedNodes(e.redisA)), new Cluster(seedNodes(e.redisB))];
    clusters.push(ca, cb);
    const loads = [new DemoLoad(ca, 'a', opts.rate), new DemoLoad(cb, 'b', opts.rate)];
    loads.forEach((l) => l.start());

    const stopRequested = new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('Ctrl-C'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
      if (opts.duration) setTimeout(() => resolve(`${opts.duration} s elapsed`), opts.duration * 1000).unref();
    });
    const why = await liveTable(services, loads, stopRequested);
    loads.forEach((l) => l.stop());
    say(`\nstopping the load (${why}); waiting for both clusters to converge…`);

    const verdict = await verifyConverged(ca, cb, 60_000);
    process.stdout.write(`${verdict.line}\n`);
    for (const d of verdict.diffs.slice(0, 10)) process.stdout.write(`  ${d}\n`);
    failed = !verdict.ok;
  } finally {
    clusters.forEach((c) => c.disconnect());
    await Promise.all(services.map((s) => s.stop()));
    if (!opts.keep && !reuse) await stackDown(settings.stateDir, say);
  }
  if (failed) process.exitCode = 1;
}

async function liveTable(services: ServiceProcess[], loads: DemoLoad[], stop: Promise<string>): Promise<string> {
  const tty = process.stdout.isTTY === true;
  const sinkB = services.find((s) => s.name === 'sink-b')!; // applies a → b
  const sinkA = services.find((s) => s.name === 'sink-a')!; // applies b → a
  let prev: Record<string, DirectionStats> | undefined;
  let printed = 0;
  let last = Date.now();
  let stopped: string | undefined;
  void stop.then((w) => (stopped = w));
  for (let tick = 0; stopped === undefined; tick++) {
    await sleep(1000);
    for (const s of services) {
      if (s.proc.exitCode !== null) throw new Error(`${s.name} exited with code ${s.proc.exitCode}; see ${s.logFile}`);
    }
    const now = Date.now();
    const cur = {
      'a → b': directionStats(await scrape(sinkB.httpPort)),
      'b → a': directionStats(await scrape(sinkA.httpPort)),
    };
    const secs = (now - last) / 1000;
    last = now;
    const rows = Object.entries(cur).map(([dir, c]) => {
      const p = prev?.[dir];
      const rate = p ? (c.applied - p.applied) / secs : 0;
      const n = p ? c.latencyCount - p.latencyCount : 0;
      const lagMs = n > 0 && p ? ((c.latencySum - p.latencySum) / n) * 1000 : NaN;
      return `${dir}   ${rate.toFixed(0).padStart(8)}   ${(Number.isNaN(lagMs) ? '-' : lagMs.toFixed(1)).padStart(10)}   ${String(c.applied).padStart(9)}   ${String(c.echo).padStart(15)}   ${String(c.dlq).padStart(5)}`;
    });
    prev = cur;
    const header = 'direction  events/s   lag ms avg    applied   dropped as echo     DLQ';
    const writes = `client writes: a ${loads[0].ops} (errors ${loads[0].errors}), b ${loads[1].ops} (errors ${loads[1].errors})   Ctrl-C stops and verifies`;
    const block = [header, ...rows, writes];
    if (tty) {
      if (printed > 0) process.stdout.write(`\x1b[${printed}A`);
      process.stdout.write(block.map((l) => `\x1b[2K${l}`).join('\n') + '\n');
      printed = block.length;
    } else if (tick % 5 === 0) {
      process.stdout.write(`${block.join('\n')}\n`);
    }
  }
  return stopped;
}

async function verifyConverged(a: Cluster, b: Cluster, timeoutMs: number): Promise<{ ok: boolean; line: string; diffs: string[] }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const started = Date.now();
    const { keys, diffs } = await compareClusters(a, b, { match: 'demo:*', ttlToleranceMs: 2000 });
    if (diffs.length === 0) {
      return { ok: true, diffs: [], line: `verified: ${keys} keys compared in both directions (DUMP and TTL): clusters a and b hold the same data (${Date.now() - started} ms)` };
    }
    if (Date.now() > deadline) {
      return {
        ok: false,
        diffs: diffs.map((d) => `${d.kind}: ${d.key} (${d.detail})`),
        line: `NOT CONVERGED after ${timeoutMs / 1000} s: ${diffs.length} of ${keys} keys differ`,
      };
    }
    await sleep(1000);
  }
}
