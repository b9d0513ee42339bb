/**
 * End-to-end replication: client write in cluster a → source(a) → Kafka →
 * sink(b) → visible in cluster b.
 *
 *   npm run bench -- e2e [--seconds 10] [--rates 1000,10000,max] [--partitions 64]
 *                        [--commit-interval-ms 100] [--cpu-prof] [--no-write-md] [--keep-stack]
 *
 * 1. Starts a dedicated local stack (Kafka 35092/35093, cluster a on 35200+,
 *    cluster b on 35300+, state in .tandem/bench-e2e-stack), creates the
 *    topics of DCs `e2ea` and `e2eb`, and starts `tandem source` (cluster a,
 *    DC e2ea) and `tandem sink` (cluster b, DC e2eb, peer e2ea) as child
 *    processes of the built CLI.
 * 2. Each phase writes `SET <key> <sendTimeMs>` into a for `--seconds`, keys
 *    spread over every slot: at a fixed rate (1k/s, 10k/s), or as fast as one
 *    client with 16 × 64 writes in flight can (`max`).
 *    - Lag: every 5 ms one write is a probe with a key of its own. A second
 *      client polls b for the pending probes (EXISTS, pipelined, every 2 ms);
 *      lag = first poll reply that sees the key − the moment the write was
 *      sent to a. True client-to-visible, an upper bound by one poll period
 *      (2 ms while fewer than 64 probes are pending; each round polls at most
 *      64 of them, round-robin, so a large lag coarsens the resolution
 *      instead of loading the machine).
 *    - Throughput: writes acknowledged by a per second, and the rate at which
 *      the sink applied them in b (tandem_sink_events_applied_total), from the
 *      phase's start until every write was applied.
 *    - Also the sink's own apply latency histogram (source capturedAt → EXEC
 *      reply), bucket resolution, for the split between the two halves.
 * 3. Prints a table, machine and commit, and replaces the "End-to-end
 *    replication (e2e)" section of BENCHMARKS.md (--no-write-md: don't).
 *
 * Goal (end-to-end issue): p99 lag under 100 ms at 10k writes/s, on the
 * 2-core machine that also runs Kafka, both clusters, the source and the sink.
 * --cpu-prof profiles the source and sink children (node --cpu-prof, written
 * at their SIGTERM) and prints their top functions by self time.
 *
 * The stack and the children stop at the end, also on failure.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { defaultStackSettings, stackDown, stackUp, type StackState } from '../services/cli/stack/stack';
import { seedNodes } from '../services/cli/stack/check';
import { packageRoot } from '../services/shared/paths';
import { slotTag } from '../services/shared/slot-tags';
import { DEFAULT_PARTITIONS, ensureTopics } from '../services/shared/topics';
import { updateBenchmarksSection } from './lib/benchmarks-md';
import { topSelfTime } from './lib/cpu-profile';
import { arg, printMachine, type MachineInfo } from './lib/machine';
import { metricSum, startServiceChild, stopServiceChild, waitServiceReady, type ServiceChild } from './lib/service-child';

const A = 'e2ea';
const B = 'e2eb';
const GOAL_P99_MS = 100;
const GOAL_RATE = 10_000;
const PROBE_EVERY_MS = 5;
const POLL_EVERY_MS = 2;
const POLL_BATCH = 64;
const KEYSPACE = 100_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const nowMs = () => performance.now();

function log(line: string): void {
  console.error(`[${new Date().toISOString().slice(11, 23)}] ${line}`);
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Cumulative histogram buckets (le → count) of a Prometheus histogram. */
function buckets(text: string, name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}_bucket\\{.*le="([^"]+)".*\\} (\\d+)`).exec(line);
    if (m) out.set(m[1] === '+Inf' ? Infinity : Number(m[1]), (out.get(Number(m[1])) ?? 0) + Number(m[2]));
  }
  return out;
}

/** The bucket bound at quantile q of the observations between two scrapes. */
function histogramQuantile(before: Map<number, number>, after: Map<number, number>, q: number): number {
  const les = [...after.keys()].sort((x, y) => x - y);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return Number.NaN;
  for (const le of les) if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= q * total) return le;
  return Infinity;
}

interface PhaseResult {
  phase: string;
  targetRate: number | null;
  seconds: number;
  acked: number;
  errors: number;
  writeRate: number;
  appliedRate: number;
  drainS: number | null;
  publishedAtEnd: number;
  appliedAtEnd: number;
  sourceCommits: number;
  sourceCommitMeanMs: number;
  probes: number;
  lost: number;
  p50: number;
  p99: number;
  max: number;
  sinkP50: number;
  sinkP99: number;
}

interface Env {
  ca: Cluster;
  cb: Cluster;
  sinkPort: number;
  sourcePort: number;
  sink: ServiceChild;
  source: ServiceChild;
}

/**
 * One phase: writes for `seconds` at `rate` (null: as fast as possible),
 * probes visible in b, and the sink's applied count until all arrived.
 */
async function phase(env: Env, name: string, rate: number | null, seconds: number, drainTimeoutS: number): Promise<PhaseResult> {
  const { ca, cb } = env;
  const scrape = async () => (await fetch(`http://127.0.0.1:${env.sinkPort}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const applied = (text: string) => metricSum(text, 'tandem_sink_events_applied_total', { origin: A });
  const before = await scrape();
  const applied0 = applied(before);
  const sourceMetrics = async () => (await fetch(`http://127.0.0.1:${env.sourcePort}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const published = async () => metricSum(await sourceMetrics(), 'tandem_source_events_published_total');
  const published0 = await published();
  const commitStats = (text: string) => ({ n: metricSum(text, 'tandem_source_kafka_commit_seconds_count'), s: metricSum(text, 'tandem_source_kafka_commit_seconds_sum') });
  const commits0 = commitStats(await sourceMetrics());
  const prefix = `e2e:${name}:${Date.now().toString(36)}`;
  const pending = new Map<string, number>(); // probe key → send time
  const lags: number[] = [];
  let acked = 0;
  let errors = 0;
  let firstError = '';
  let sent = 0;
  let lastProbe = -Infinity;
  const send = (): Promise<void> => {
    const n = sent++;
    const t = nowMs();
    let key: string;
    if (t - lastProbe >= PROBE_EVERY_MS) {
      lastProbe = t;
      key = `${prefix}:p:{${slotTag((n * 7919) % 16384)}}:${n}`;
      pending.set(key, t);
    } else {
      key = `${prefix}:{${slotTag((n * 7919) % 16384)}}:${n % KEYSPACE}`;
    }
    return ca.set(key, String(Date.now())).then(
      () => {
        acked++;
      },
      (err: Error) => {
        errors++;
        firstError ||= err.message;
        pending.delete(key);
      },
    );
  };

  let writing = true;
  const t0 = nowMs();
  const end = t0 + seconds * 1000;
  const writer = (async () => {
    if (rate === null) {
      // 16 loops × 64 writes in flight, auto-pipelined: as fast as this client goes.
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (nowMs() < end) await Promise.all(Array.from({ length: 64 }, send));
        }),
      );
    } else {
      const inflight = new Set<Promise<void>>();
      while (nowMs() < end) {
        const due = Math.floor(((nowMs() - t0) / 1000) * rate) - sent;
        // Never more than 5000 in flight: past that the client, not the rate, is the limit.
        for (let i = 0; i < due && inflight.size < 5000; i++) {
          const p = send();
          inflight.add(p);
          void p.then(() => inflight.delete(p));
        }
        await sleep(1);
      }
      await Promise.all(inflight);
    }
    writing = false;
  })();

  // Probes: poll b for each pending probe key, pipelined.
  const pollDeadline = end + drainTimeoutS * 1000;
  const poller = (async () => {
    let cursor = 0;
    while ((writing || pending.size > 0) && nowMs() < pollDeadline) {
      // At most POLL_BATCH keys per round, round-robin over the pending probes: when lag grows, the
      // poller's own cost stays bounded (it shares the machine) and only its resolution coarsens.
      const all = [...pending.keys()];
      cursor = cursor >= all.length ? 0 : cursor;
      const keys = all.slice(cursor, cursor + POLL_BATCH);
      cursor += POLL_BATCH;
      if (keys.length > 0) {
        const seen = await Promise.all(keys.map((k) => cb.exists(k)));
        const t = nowMs();
        keys.forEach((k, i) => {
          const sentAt = pending.get(k);
          if (seen[i] === 1 && sentAt !== undefined) {
            lags.push(t - sentAt);
            pending.delete(k);
          }
        });
      }
      await sleep(POLL_EVERY_MS);
    }
  })();

  await writer;
  const t1 = nowMs();
  // Which side is behind when the writes stop: the source (not yet committed to Kafka) or the sink.
  const publishedAtEnd = (await published()) - published0;
  const appliedAtEnd = applied(await scrape()) - applied0;
  // Drain: until the sink has applied every acknowledged write (bounded).
  let t2: number | null = null;
  let last = before;
  while (nowMs() < t1 + drainTimeoutS * 1000) {
    last = await scrape();
    if (applied(last) - applied0 >= acked) {
      t2 = nowMs();
      break;
    }
    if (env.sink.proc.exitCode !== null) throw new Error(`sink exited with ${env.sink.proc.exitCode} (log: ${env.sink.logFile})`);
    if (env.source.proc.exitCode !== null) throw new Error(`source exited with ${env.source.proc.exitCode} (log: ${env.source.logFile})`);
    await sleep(50);
  }
  await poller;
  const lost = pending.size;
  if (firstError) log(`${name}: ${errors} write errors, e.g. ${firstError}`);
  if (t2 === null) log(`${name}: NOT drained ${drainTimeoutS} s after the writes: ${applied(last) - applied0} of ${acked} applied`);
  const after = await scrape();
  const commits1 = commitStats(await sourceMetrics());
  const commitN = commits1.n - commits0.n;
  const hb = buckets(before, 'tandem_sink_apply_latency_seconds');
  const ha = buckets(after, 'tandem_sink_apply_latency_seconds');
  lags.sort((x, y) => x - y);
  const writeSeconds = (t1 - t0) / 1000;
  const r: PhaseResult = {
    phase: name,
    targetRate: rate,
    seconds: Number(writeSeconds.toFixed(2)),
    acked,
    errors,
    writeRate: Math.round(acked / writeSeconds),
    appliedRate: Math.round((applied(last) - applied0) / (((t2 ?? nowMs()) - t0) / 1000)),
    drainS: t2 === null ? null : Number(((t2 - t1) / 1000).toFixed(2)),
    publishedAtEnd,
    appliedAtEnd,
    sourceCommits: commitN,
    sourceCommitMeanMs: commitN > 0 ? Math.round(((commits1.s - commits0.s) / commitN) * 1000) : Number.NaN,
    probes: lags.length + lost,
    lost,
    p50: Math.round(percentile(lags, 0.5)),
    p99: Math.round(percentile(lags, 0.99)),
    max: Math.round(lags[lags.length - 1] ?? Number.NaN),
    sinkP50: histogramQuantile(hb, ha, 0.5) * 1000,
    sinkP99: histogramQuantile(hb, ha, 0.99) * 1000,
  };
  log(`${name}: ${JSON.stringify(r)}`);
  return r;
}

function table(results: PhaseResult[]): string {
  const head = '| phase | target writes/s | writes/s into a (acked) | applied in b /s (start → all applied) | drain after writes (s) | at write end: committed by source / applied by sink | probes | p50 lag (ms) | p99 lag (ms) | max lag (ms) | sink capturedAt→EXEC p50 / p99 (ms, bucket bound) | source Kafka transactions: count, mean commit ms |';
  const sep = '|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---|';
  const rows = results.map((r) =>
    `| ${r.phase} | ${r.targetRate ?? 'max'} | ${r.writeRate} | ${r.appliedRate} | ${r.drainS ?? 'not drained'} | ${r.publishedAtEnd} / ${r.appliedAtEnd} of ${r.acked} | ${r.probes}${r.lost ? ` (${r.lost} never seen)` : ''} | ${r.p50} | ${r.p99} | ${r.max} | ≤ ${r.sinkP50} / ≤ ${r.sinkP99} | ${r.sourceCommits}, ${r.sourceCommitMeanMs} |`,
  );
  return [head, sep, ...rows].join('\n');
}

export async function main(argv: string[]): Promise<void> {
  const machine: MachineInfo = printMachine('e2e');
  const seconds = Math.min(600, Number(arg(argv, '--seconds', '10')));
  const partitions = Number(arg(argv, '--partitions', String(DEFAULT_PARTITIONS)));
  const commitIntervalMs = Number(arg(argv, '--commit-interval-ms', '100'));
  const drainTimeoutS = Math.min(600, Number(arg(argv, '--drain-timeout-s', '120')));
  const rates = arg(argv, '--rates', '1000,10000,max').split(',').map((r) => (r === 'max' ? null : Number(r)));
  const cpuProf = argv.includes('--cpu-prof');
  const settings = defaultStackSettings({
    stateDir: join(packageRoot(), '.tandem', 'bench-e2e-stack'),
    kafkaPort: 35092,
    kafkaControllerPort: 35093,
    redisABasePort: 35200,
    redisBBasePort: 35300,
  });
  const cli = join(packageRoot(), 'dist/services/cli/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-e2e-'));
  const profDir = join(packageRoot(), '.tandem', 'profiles', `e2e-sink-${process.pid}`);
  const children: ServiceChild[] = [];
  let ca: Cluster | undefined;
  let cb: Cluster | undefined;
  let ok = false;
  const results: PhaseResult[] = [];
  try {
    await stackDown(settings.stateDir, log); // a run that died earlier may have left its stack
    // The bench's ports lie in Linux's ephemeral range (32768-60999): an outgoing connection of any
    // program can hold one for a moment ("Address already in use" in a node's redis.log). Try again.
    let stack: StackState | undefined;
    for (let attempt = 1; stack === undefined; attempt++) {
      try {
        stack = await stackUp(settings, log);
      } catch (err) {
        if (attempt >= 3) throw err;
        log(`stack start failed (${(err as Error).message}); attempt ${attempt + 1} of 3`);
        await stackDown(settings.stateDir, log);
      }
    }
    const kafka = new Kafka({ clientId: 'tandem-bench', brokers: [stack.endpoints.kafkaBrokers], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const dc of [A, B]) await ensureTopics(admin, { dc, partitions, retentionMs: -1, replicationFactor: 1 });
    } finally {
      await admin.disconnect();
    }
    const common = (dc: string, seeds: string) => [`dc: ${dc}`, 'kafka:', `  brokers: [${stack.endpoints.kafkaBrokers}]`, 'redis:', `  nodes: [${seeds.split(',').join(', ')}]`, 'log:', '  level: info'];
    if (cpuProf) for (const kind of ['source', 'sink']) mkdirSync(join(profDir, kind), { recursive: true });
    const source = startServiceChild({
      kind: 'source',
      cli,
      dir,
      yaml: [...common(A, stack.endpoints.redisA), 'source:', `  commitIntervalMs: ${commitIntervalMs}`],
      execArgv: cpuProf ? ['--cpu-prof', '--cpu-prof-dir', join(profDir, 'source')] : [],
    });
    children.push(source);
    const sourcePort = await waitServiceReady(source);
    const sink = startServiceChild({
      kind: 'sink',
      cli,
      dir,
      yaml: [...common(B, stack.endpoints.redisB), 'sink:', `  peers: [${A}]`],
      execArgv: cpuProf ? ['--cpu-prof', '--cpu-prof-dir', join(profDir, 'sink')] : [],
    });
    children.push(sink);
    const sinkPort = await waitServiceReady(sink);
    log(`source (log ${source.logFile}) and sink (log ${sink.logFile}) ready`);
    ca = new Cluster(seedNodes(stack.endpoints.redisA), { enableAutoPipelining: true });
    cb = new Cluster(seedNodes(stack.endpoints.redisB), { enableAutoPipelining: true });
    const env: Env = { ca, cb, sinkPort, sourcePort, sink, source };
    // Warm-up (JIT, connections, consumer fetch sessions); not reported.
    await phase(env, 'warmup', 1000, 2, drainTimeoutS);
    for (const rate of rates) results.push(await phase(env, rate === null ? 'max' : `${rate / 1000}k/s`, rate, seconds, drainTimeoutS));
    ok = true;
  } finally {
    ca?.disconnect();
    cb?.disconnect();
    for (const c of children.reverse()) await stopServiceChild(c);
    if (!argv.includes('--keep-stack')) await stackDown(settings.stateDir, log);
    if (ok) rmSync(dir, { recursive: true, force: true });
    else log(`logs kept in ${dir}`);
  }

  const tbl = table(results);
  console.log(tbl);
  const at10k = results.find((r) => r.targetRate === GOAL_RATE);
  const verdict = at10k
    ? `p99 at 10k/s: ${at10k.p99} ms against a goal of ${GOAL_P99_MS} ms (ratio ${(at10k.p99 / GOAL_P99_MS).toFixed(2)})`
    : 'no 10k/s phase run';
  console.log(verdict);
  const hot: string[] = [];
  if (cpuProf) {
    for (const kind of ['source', 'sink']) {
      const d = join(profDir, kind);
      const prof = (existsSync(d) ? readdirSync(d) : []).filter((f) => f.endsWith('.cpuprofile'));
      if (prof.length === 0) continue;
      const top = topSelfTime(join(d, prof[0]), 20);
      console.log(`${kind} CPU profile ${join(d, prof[0])}, top self time:\n${top.join('\n')}`);
      hot.push(`${kind}:`, ...top.slice(0, 12));
    }
  }
  if (!argv.includes('--no-write-md')) {
    updateBenchmarksSection(
      'End-to-end replication (e2e)',
      [
        '`npm run bench -- e2e` (`bench/e2e.ts`): client `SET` in cluster a → source(a) → Kafka → sink(b) → visible in cluster b,',
        'on a dedicated local stack (Kafka + two 3-master clusters, the source and the sink all on this machine).',
        `Each phase writes for ${seconds} s, keys spread over every slot; ${partitions} partitions; source commitIntervalMs ${commitIntervalMs};`,
        'sink defaults (16 partitions applied concurrently). Lag = a probe write every 5 ms, from the moment it is sent to a until a',
        'second client polling b (every 2 ms) sees it. "applied in b /s" = events the sink applied from the phase start until all were applied.',
        '',
        `Machine: nproc ${machine.nproc}, ${machine.cpu}, RAM ${machine.ramGiB} GiB, node ${machine.node}; commit ${machine.commit}; 1-minute load average ${machine.loadAvg1m} at the start (the machine is shared); ${new Date().toISOString().slice(0, 10)}.`,
        '',
        tbl,
        '',
        `Goal: p99 < ${GOAL_P99_MS} ms at 10k writes/s. ${verdict}.`,
        ...(hot.length > 0 ? ['', 'CPU profiles (`--cpu-prof`), top functions by self time:', '', '```', ...hot, '```'] : []),
      ].join('\n'),
    );
    log('BENCHMARKS.md: section "End-to-end replication (e2e)" updated');
  }
}
