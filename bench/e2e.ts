/**
 * End-to-end replication: client write in cluster a → source(a) → Kafka →
 * sink(b) → visible in cluster b; with --peer-redis-shake, the same loads
 * through RedisShake (a → b direct) on the same stack, and the ratio.
 *
 *   npm run bench -- e2e [--peer-redis-shake PATH] [--rates max,10000,1000] [--requests 300000]
 *                        [--seconds 10] [--partitions 64] [--commit-interval-ms 100]
 *                        [--drain-timeout-s 120] [--warmup-s 10] [--cpu-prof] [--no-write-md] [--keep-stack]
 *                        [--source-set key=value,…] [--sink-set key=value,…]
 *
 * 1. Starts a dedicated local stack (Kafka 22092/22093, cluster a on 22200+,
 *    cluster b on 22300+, state in .tandem/bench-e2e-stack) and creates the
 *    topics of DCs `e2ea` and `e2eb`.
 * 2. Tandem: starts `tandem source` (cluster a, DC e2ea) and `tandem sink`
 *    (cluster b, DC e2eb, peer e2ea), children of the built CLI (package.json
 *    "bin".tandem), warms them up (a burst of up to 100k SETs, then
 *    10k writes/s for --warmup-s, default 10; not reported), runs
 *    each load, then stops them.
 * 3. RedisShake (--peer-redis-shake): for each load, starts redis-shake
 *    (working folder .tandem/bench-e2e-stack/redis-shake), waits until every
 *    master of a streams its AOF, runs the load, stops it (SIGTERM). The two
 *    never run at the same time.
 *    Before every load, of either, both clusters are emptied (FLUSHALL on each
 *    master, then until every replica holds no key too). Tandem's source
 *    carries the FLUSHALL of a to Kafka but its sink does not apply it (an
 *    audit-only event by default), so it stays up across loads.
 * 4. The loads (`--rates`, in that order):
 *    - max: `--requests` SETs of distinct keys over every slot through
 *      `redis-cli --pipe`, one RESP file per master of a, all at once
 *      (lib/pipe-load.ts);
 *    - a number: that many SETs/s for `--seconds`, with a timed probe every
 *      5 ms (lib/paced-load.ts).
 *    Throughput: writes acknowledged by a per second, and writes / (time from
 *    the load's start until DBSIZE over b's masters, polled every 20 ms,
 *    counts them all; for Tandem plus its one marker key per slot written).
 *    Peak RSS of the source, the sink and redis-shake over each load
 *    (lib/rss.ts).
 * 5. Prints machine and commit, the table, and Tandem's own split of where
 *    the writes were (from its /metrics); replaces the "End-to-end
 *    replication (e2e)" section of BENCHMARKS.md (--no-write-md: don't).
 *
 * Goals (the data-path issue): p99 lag under 50 ms at 10k writes/s, and max
 * throughput at least half RedisShake's, on the 2-core machine that also runs
 * Kafka, both clusters and the replicator.
 * --source-set / --sink-set add settings to the source's / sink's section of
 * their config (e.g. `--sink-set fetchMaxWaitMs=100`), to compare settings on
 * one stack; the report names them.
 * --cpu-prof profiles the source and sink children (node --cpu-prof, written
 * at their SIGTERM) and prints their top functions by self time.
 *
 * The stack and every child stop at the end, also on failure.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Cluster } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { defaultStackSettings, stackDown, stackUp, type StackState } from '../services/cli/stack/stack';
import { seedNodes } from '../services/cli/stack/check';
import { packageRoot } from '../services/shared/paths';
import { DEFAULT_PARTITIONS, ensureTopics } from '../services/shared/topics';
import { sourceSectionSchema } from '../services/source/config';
import { updateBenchmarksSection } from './lib/benchmarks-md';
import { clusterNodes, disconnectNodes, flushCluster, type ClusterNodes } from './lib/cluster-nodes';
import { topSelfTime } from './lib/cpu-profile';
import { log, type LoadResult, type Replicator } from './lib/e2e-load';
import { e2eTable, tandemDetailTable } from './lib/e2e-table';
import { arg, type MachineInfo, machineLine, printMachine } from './lib/machine';
import { pacedLoad } from './lib/paced-load';
import { pipeLoad } from './lib/pipe-load';
import { startRedisShake, stopRedisShake, type RedisShake } from './lib/redis-shake';
import { RssWindow } from './lib/rss';
import { startServiceChild, stopServiceChild, waitServiceReady, type ServiceChild } from './lib/service-child';
import { TandemMetrics, type TandemDetail } from './lib/tandem-metrics';

const A = 'e2ea';
const B = 'e2eb';
/** The data-path issue's goals: p99 lag under 50 ms at 10k writes/s; max throughput at least half RedisShake's. */
const GOAL_P99_MS = 50;
const GOAL_RATE = 10_000;
const GOAL_THROUGHPUT_RATIO = 0.5;
/** The conflicts issue's goal: the sink's detection costs at most a fifth of the throughput. */
const GOAL_DETECTION_RATIO = 0.8;

interface Options {
  rates: (number | null)[];
  requests: number;
  /** seconds of paced warm-up load after a warm-up burst, before Tandem's measured loads (0: none) */
  warmupS: number;
  seconds: number;
  partitions: number;
  commitIntervalMs: number;
  drainTimeoutS: number;
  cpuProf: boolean;
  redisShake: string | undefined;
  /** --conflicts: the same loads with the sink's conflict detection off, then on (issue 13's cost) */
  conflicts: boolean;
  /** --source-set / --sink-set: extra `key: value` lines of the source's / sink's config section */
  sourceSet: string[];
  sinkSet: string[];
}

/**
 * One way of running Tandem. The conflicts comparison runs a source in b too
 * in both variants (the sink's detection reads b's own changes topic, which
 * b's source writes), so the variants differ only in `sink.conflicts`.
 */
interface Variant {
  replicator: string;
  sourceB: boolean;
  sinkYaml: string[];
}

const PLAIN: Variant = { replicator: 'Tandem', sourceB: false, sinkYaml: [] };
const DETECTION_OFF: Variant = { replicator: 'Tandem, detection off', sourceB: true, sinkYaml: ['  conflicts: off'] };
const DETECTION_ON: Variant = { replicator: 'Tandem, detection on', sourceB: true, sinkYaml: ['  conflicts: report'] };

/** What every load needs: both clusters (per-node clients and cluster clients) and where to put files. */
interface Stage {
  a: ClusterNodes;
  b: ClusterNodes;
  ca: Cluster;
  cb: Cluster;
  dir: string;
}

const loadName = (rate: number | null) => (rate === null ? 'max' : `${rate / 1000}k/s`);

/** The CLI entry, from package.json "bin".tandem: it moves between releases. */
function tandemCli(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { bin?: string | Record<string, string> };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin?.tandem;
  if (!bin) throw new Error('package.json has no "bin".tandem');
  const cli = join(packageRoot(), bin);
  if (!existsSync(cli)) throw new Error(`${cli} (package.json "bin".tandem) does not exist: npm run build`);
  return cli;
}

/** Runs one load (on clusters the caller emptied) inside an RSS window of the replicator's processes. */
async function runLoad(st: Stage, r: Replicator, rate: number | null, o: Options, onWritesDone?: () => Promise<void>): Promise<LoadResult> {
  const rss = new RssWindow(r.pids);
  const run =
    rate === null
      ? pipeLoad({ a: st.a, b: st.b, replicator: r, requests: o.requests, dir: join(st.dir, 'resp'), drainTimeoutS: o.drainTimeoutS, onWritesDone })
      : pacedLoad({ name: loadName(rate), ca: st.ca, cb: st.cb, b: st.b, replicator: r, rate, seconds: o.seconds, drainTimeoutS: o.drainTimeoutS, onWritesDone });
  const result = await run.catch((err: unknown) => {
    rss.stop();
    throw err;
  });
  result.rss = rss.stop();
  log(`${result.load}/${r.name}: ${JSON.stringify(result)}`);
  return result;
}

/** Both clusters emptied, replicas included: each load starts from nothing and counts its keys in b. */
async function flushBoth(st: Stage): Promise<void> {
  await Promise.all([flushCluster(st.a), flushCluster(st.b)]);
}

async function runTandem(st: Stage, stack: StackState, o: Options, profDir: string, v: Variant = PLAIN): Promise<{ results: LoadResult[]; details: TandemDetail[] }> {
  const cli = tandemCli();
  const common = (dc: string, seeds: string) => [`dc: ${dc}`, 'kafka:', `  brokers: [${stack.endpoints.kafkaBrokers}]`, 'redis:', `  nodes: [${seeds.split(',').join(', ')}]`, 'log:', '  level: info'];
  const prof = (kind: string) => (o.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', join(profDir, kind)] : []);
  if (o.cpuProf) for (const kind of ['source', 'sink']) mkdirSync(join(profDir, kind), { recursive: true });
  const children: ServiceChild[] = [];
  try {
    const source = startServiceChild({ kind: 'source', cli, dir: st.dir, yaml: [...common(A, stack.endpoints.redisA), 'source:', `  commitIntervalMs: ${o.commitIntervalMs}`, ...o.sourceSet], execArgv: prof('source') });
    children.push(source);
    const sourcePort = await waitServiceReady(source);
    let sourceB: ServiceChild | undefined;
    if (v.sourceB) {
      mkdirSync(join(st.dir, 'b'), { recursive: true });
      sourceB = startServiceChild({ kind: 'source', cli, dir: join(st.dir, 'b'), yaml: [...common(B, stack.endpoints.redisB), 'source:', `  commitIntervalMs: ${o.commitIntervalMs}`] });
      children.push(sourceB);
      await waitServiceReady(sourceB);
    }
    const sink = startServiceChild({ kind: 'sink', cli, dir: st.dir, yaml: [...common(B, stack.endpoints.redisB), 'sink:', `  peers: [${A}]`, ...v.sinkYaml, ...o.sinkSet], execArgv: prof('sink') });
    children.push(sink);
    const sinkPort = await waitServiceReady(sink);
    log(`${v.replicator}: source (pid ${source.proc.pid}, log ${source.logFile}) and sink (pid ${sink.proc.pid}, log ${sink.logFile})${sourceB ? ` and source b (pid ${sourceB.proc.pid}, log ${sourceB.logFile})` : ''} ready`);
    const tandem: Replicator = {
      name: v.replicator,
      pids: { source: source.proc.pid, sink: sink.proc.pid, ...(sourceB ? { 'source b': sourceB.proc.pid } : {}) },
      keysPerSlot: 1,
      check: () => {
        for (const c of children) if (c.proc.exitCode !== null) throw new Error(`${c.kind} exited with ${c.proc.exitCode} (log: ${c.logFile})`);
      },
    };
    const metrics = new TandemMetrics(sourcePort, sinkPort, A);
    // Warm-up, not reported: the JIT of Kafka's JVM and of both Node
    // processes, connections, fetch sessions and the sink's marker cache
    // (a deployed Tandem runs warm). A burst over every slot, then paced.
    if (o.warmupS > 0) {
      await flushBoth(st);
      await runLoad(st, tandem, null, { ...o, requests: Math.min(o.requests, 100_000) });
      await flushBoth(st);
      await runLoad(st, tandem, 10_000, { ...o, seconds: o.warmupS });
    }
    const results: LoadResult[] = [];
    const details: TandemDetail[] = [];
    for (const rate of o.rates) {
      await flushBoth(st);
      await metrics.start();
      const r = await runLoad(st, tandem, rate, o, () => metrics.writesDone());
      results.push(r);
      details.push(await metrics.finish(r.load, r.writes));
    }
    return { results, details };
  } finally {
    for (const c of children.reverse()) await stopServiceChild(c);
  }
}

async function runRedisShake(st: Stage, stack: StackState, o: Options, binary: string): Promise<LoadResult[]> {
  const results: LoadResult[] = [];
  for (const rate of o.rates) {
    await flushBoth(st);
    const shake: RedisShake = await startRedisShake({
      binary,
      dir: join(stack.settings.stateDir, 'redis-shake'),
      from: `${st.a.masters[0].host}:${st.a.masters[0].port}`,
      to: `${st.b.masters[0].host}:${st.b.masters[0].port}`,
      masters: st.a.masters.length,
    });
    try {
      log(`RedisShake (pid ${shake.proc.pid}, log ${shake.logFile}): every master of a streaming`);
      const r: Replicator = {
        name: 'RedisShake',
        pids: { 'redis-shake': shake.proc.pid },
        keysPerSlot: 0,
        check: () => {
          if (shake.proc.exitCode !== null) throw new Error(`redis-shake exited with ${shake.proc.exitCode} (log: ${shake.logFile})`);
        },
      };
      results.push(await runLoad(st, r, rate, o));
    } finally {
      await stopRedisShake(shake);
    }
  }
  return results;
}

function options(argv: string[]): Options {
  const shake = arg(argv, '--peer-redis-shake', '');
  return {
    rates: arg(argv, '--rates', 'max,10000,1000')
      .split(',')
      .map((r) => (r === 'max' ? null : Number(r))),
    requests: Number(arg(argv, '--requests', '300000')),
    warmupS: Number(arg(argv, '--warmup-s', '10')),
    seconds: Math.min(600, Number(arg(argv, '--seconds', '10'))),
    partitions: Number(arg(argv, '--partitions', String(DEFAULT_PARTITIONS))),
    commitIntervalMs: Number(arg(argv, '--commit-interval-ms', '100')),
    drainTimeoutS: Math.min(600, Number(arg(argv, '--drain-timeout-s', '120'))),
    cpuProf: argv.includes('--cpu-prof'),
    redisShake: shake === '' ? undefined : resolve(shake),
    conflicts: argv.includes('--conflicts'),
    sourceSet: settingLines(arg(argv, '--source-set', '')),
    sinkSet: settingLines(arg(argv, '--sink-set', '')),
  };
}

/** "a=1,b=x" → the YAML lines "  a: 1", "  b: x" of a config section. */
function settingLines(list: string): string[] {
  return list
    .split(',')
    .filter((kv) => kv !== '')
    .map((kv) => {
      const eq = kv.indexOf('=');
      if (eq <= 0) throw new Error(`--source-set / --sink-set: "${kv}" is not key=value`);
      return `  ${kv.slice(0, eq)}: ${kv.slice(eq + 1)}`;
    });
}

export async function main(argv: string[]): Promise<void> {
  const machine: MachineInfo = printMachine('e2e');
  const o = options(argv);
  if (o.rates.some((r) => r !== null && !(r > 0))) throw new Error('--rates: a comma-separated list of writes/s and "max"');
  if (o.redisShake !== undefined && !existsSync(o.redisShake)) throw new Error(`--peer-redis-shake: ${o.redisShake} does not exist`);
  const settings = defaultStackSettings({
    stateDir: join(packageRoot(), '.tandem', 'bench-e2e-stack'),
    // Below the ephemeral range (32768+), cluster bus ports (+10000) included: an outgoing connection cannot take one.
    kafkaPort: 22092,
    kafkaControllerPort: 22093,
    redisABasePort: 22200,
    redisBBasePort: 22300,
  });
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-e2e-'));
  const profDir = join(packageRoot(), '.tandem', 'profiles', `e2e-${process.pid}`);
  let st: Stage | undefined;
  let a: ClusterNodes | undefined;
  let b: ClusterNodes | undefined;
  let ok = false;
  let tandem: { results: LoadResult[]; details: TandemDetail[] } = { results: [], details: [] };
  let shake: LoadResult[] = [];
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
      for (const dc of [A, B]) await ensureTopics(admin, { dc, partitions: o.partitions, retentionMs: -1, replicationFactor: 1 });
    } finally {
      await admin.disconnect();
    }
    a = await clusterNodes('a', stack.endpoints.redisA);
    b = await clusterNodes('b', stack.endpoints.redisB);
    st = {
      a,
      b,
      ca: new Cluster(seedNodes(stack.endpoints.redisA), { enableAutoPipelining: true }),
      cb: new Cluster(seedNodes(stack.endpoints.redisB), { enableAutoPipelining: true }),
      dir,
    };
    if (o.conflicts) {
      const off = await runTandem(st, stack, o, profDir, DETECTION_OFF);
      const on = await runTandem(st, stack, o, profDir, DETECTION_ON);
      tandem = { results: [...off.results, ...on.results], details: [...off.details, ...on.details] };
    } else {
      tandem = await runTandem(st, stack, o, profDir);
      if (o.redisShake !== undefined) shake = await runRedisShake(st, stack, o, o.redisShake);
    }
    ok = true;
  } finally {
    st?.ca.disconnect();
    st?.cb.disconnect();
    disconnectNodes(a);
    disconnectNodes(b);
    if (!argv.includes('--keep-stack')) await stackDown(settings.stateDir, log);
    if (ok) rmSync(dir, { recursive: true, force: true });
    else log(`logs kept in ${dir}`);
  }
  report(machine, o, [...tandem.results, ...shake], tandem.details, profDir, !argv.includes('--no-write-md'));
}

/** The extra settings of a run, as the report names them. */
function settingsText(lines: string[]): string {
  return lines.length === 0 ? '' : ` except ${lines.map((l) => l.trim()).join(', ')}`;
}

function report(machine: MachineInfo, o: Options, results: LoadResult[], details: TandemDetail[], profDir: string, writeMd: boolean): void {
  if (o.conflicts) {
    reportConflicts(machine, o, results, writeMd);
    return;
  }
  const tbl = e2eTable(results);
  const detail = tandemDetailTable(details);
  console.log(`\n${tbl}\n\nTandem, from its /metrics:\n\n${detail}\n`);
  const at10k = results.find((r) => r.replicator === 'Tandem' && r.targetRate === GOAL_RATE);
  const maxOf = (who: string) => results.find((r) => r.replicator === who && r.targetRate === null);
  const [tMax, sMax] = [maxOf('Tandem'), maxOf('RedisShake')];
  const verdicts = [
    at10k ? `Tandem's p99 at 10k/s: ${at10k.p99} ms against a goal of ${GOAL_P99_MS} ms (${at10k.p99 !== null && at10k.p99 < GOAL_P99_MS ? 'met' : 'not met'})` : 'no 10k/s load run',
    tMax && sMax && tMax.replicatedRate && sMax.replicatedRate
      ? `max throughput ratio Tandem / RedisShake ${(tMax.replicatedRate / sMax.replicatedRate).toFixed(3)} against a goal of ${GOAL_THROUGHPUT_RATIO} (${tMax.replicatedRate / sMax.replicatedRate >= GOAL_THROUGHPUT_RATIO ? 'met' : 'not met'})`
      : 'no side-by-side max load',
  ];
  const verdict = verdicts.join('; ');
  console.log(verdict);
  const hot: string[] = [];
  if (o.cpuProf) {
    for (const kind of ['source', 'sink']) {
      const d = join(profDir, kind);
      const prof = (existsSync(d) ? readdirSync(d) : []).filter((f) => f.endsWith('.cpuprofile'));
      if (prof.length === 0) continue;
      const top = topSelfTime(join(d, prof[0]), 20);
      console.log(`${kind} CPU profile ${join(d, prof[0])}, top self time:\n${top.join('\n')}`);
      hot.push(`${kind}:`, ...top.slice(0, 12));
    }
  }
  if (!writeMd) return;
  const shake = results.some((r) => r.replicator === 'RedisShake');
  updateBenchmarksSection(
    'End-to-end replication (e2e)',
    [
      `\`npm run bench -- e2e${shake ? ' --peer-redis-shake PATH' : ''}\` (\`bench/e2e.ts\`): client \`SET\` in cluster a → source(a) → Kafka → sink(b) → visible in cluster b${shake ? ', and the same loads through RedisShake (a → b direct), never both at once' : ''},`,
      'on a dedicated local stack (Kafka + two 3-master clusters and the replicator, all on this machine); both clusters emptied before each load.',
      `max = ${o.requests} SETs of distinct keys over every slot through \`redis-cli --pipe\`, one RESP file per master, all at once; paced loads write for ${o.seconds} s with a probe every 5 ms.`,
      `"replicated /s" = writes / (load start → DBSIZE over b's masters counts them all, polled every 20 ms). Lag = probe SET sent to a → seen by a client polling b every 2 ms.`,
      `${o.partitions} partitions; source commitIntervalMs ${o.commitIntervalMs}, lingerMs ${sourceSectionSchema.parse({}).lingerMs} (its default)${settingsText(o.sourceSet)}; sink defaults${settingsText(o.sinkSet)}. Peak RSS = max of VmRSS every 200 ms and VmHWM (reset at the load's start).`,
      '',
      `${machineLine(machine, ' (the machine is shared)')}.`,
      '',
      tbl,
      '',
      'Tandem, from its /metrics:',
      '',
      detail,
      '',
      `Goals: p99 < ${GOAL_P99_MS} ms at 10k writes/s; max throughput ≥ ${GOAL_THROUGHPUT_RATIO}× RedisShake's. ${verdict}.`,
      ...(hot.length > 0 ? ['', 'CPU profiles (`--cpu-prof`), top functions by self time:', '', '```', ...hot, '```'] : []),
    ].join('\n'),
  );
  log('BENCHMARKS.md: section "End-to-end replication (e2e)" updated');
}

/** The cost of conflict detection (issue 13): each load with `sink.conflicts` off and on, and the throughput ratio. */
function reportConflicts(machine: MachineInfo, o: Options, results: LoadResult[], writeMd: boolean): void {
  const get = (load: string, v: Variant) => results.find((r) => r.load === load && r.replicator === v.replicator);
  const loads = [...new Set(results.map((r) => r.load))];
  const cell = (r: LoadResult | undefined, f: (r: LoadResult) => string) => (r === undefined ? '–' : f(r));
  const lagOf = (r: LoadResult) => (r.probes === 0 ? '–' : `${r.p50} / ${r.p99}`);
  const rows = loads.map((load) => {
    const [off, on] = [get(load, DETECTION_OFF), get(load, DETECTION_ON)];
    const ratio = off && on && off.replicatedRate && on.replicatedRate ? (on.replicatedRate / off.replicatedRate).toFixed(3) : '–';
    return `| ${load} | ${cell(off, (r) => String(r.replicatedRate))} | ${cell(on, (r) => String(r.replicatedRate))} | **${ratio}** | ${cell(off, lagOf)} | ${cell(on, lagOf)} | ${cell(off, (r) => `${r.rss.sink ?? '–'}`)} / ${cell(on, (r) => `${r.rss.sink ?? '–'}`)} |`;
  });
  const tbl = [
    '| load | replicated /s: detection off | replicated /s: detection on | **ratio on / off** | lag p50 / p99 (ms): off | lag p50 / p99 (ms): on | peak sink RSS (MiB): off / on |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...rows,
  ].join('\n');
  const max = get('max', DETECTION_ON);
  const maxOff = get('max', DETECTION_OFF);
  const verdict =
    max && maxOff && max.replicatedRate && maxOff.replicatedRate
      ? `max throughput with detection on / off: ${(max.replicatedRate / maxOff.replicatedRate).toFixed(3)} against a goal of ${GOAL_DETECTION_RATIO} (${max.replicatedRate / maxOff.replicatedRate >= GOAL_DETECTION_RATIO ? 'met' : 'not met'})`
      : 'no max load run';
  console.log(`\n${tbl}\n\n${verdict}`);
  if (!writeMd) return;
  updateBenchmarksSection(
    'End-to-end: the cost of conflict detection (e2e --conflicts)',
    [
      '`npm run bench -- e2e --conflicts` (`bench/e2e.ts`): the loads of the e2e benchmark (source a → Kafka → sink b), run twice on one stack:',
      'with `sink.conflicts: off`, then with `sink.conflicts: report`. A source in b runs in both (detection reads b\'s own changes topic, which it writes),',
      'so the runs differ only in the sink\'s detection: tailing b\'s topic, the window of local writes, the check of every applied event.',
      `Both clusters emptied before each load; ${o.partitions} partitions; each variant warmed up as the e2e benchmark is.`,
      '',
      `${machineLine(machine)}.`,
      '',
      tbl,
      '',
      `Goal (issue 13): throughput with detection on at least ${GOAL_DETECTION_RATIO}× with it off. This run: ${verdict}.`,
    ].join('\n'),
  );
}
