/**
 * Source throughput: how many commands per second the source captures from
 * the masters' replication streams and commits to Kafka.
 *
 *   npm run bench -- source-throughput [--requests 100000] [--partitions 64] [--drain-timeout-s 120] [--loads pipe-spread,redis-benchmark] [--cpu-prof | --v8-prof] [--cli dist/services/bin/tandem.js] [--keep-stack]
 *
 * 1. Starts a dedicated local stack (Kafka 21092/21093, cluster a on 21000+,
 *    cluster b on 21100+, state in .tandem/bench-stack) and creates the
 *    topics of DC `bench`.
 * 2. Redis alone, two loads of 3 × N write commands (SET, INCR, LPUSH), then FLUSHALL:
 *    - redis-benchmark: `redis-benchmark --cluster -P 16 -n N -r 100000 -t set,incr,lpush`.
 *      Its cluster mode puts each master's keys behind one hash tag: one slot
 *      per master, so one Kafka partition per master (a hot-slot load).
 *    - pipe-spread: the same mix with keys spread over every slot, fed by
 *      `redis-cli --pipe` into all masters at once (see writePipeFiles).
 * 3. Starts `tandem source` as a child process, waits until every link streams.
 * 4. Each load again while the source runs. From the load's
 *    start, polls the source's tandem_source_events_published_total (it
 *    counts only committed events) until it covers every write command the
 *    masters executed (INFO commandstats), and the links' offsets reach
 *    master_repl_offset.
 * Sustained rate = commands / (time from load start until all are committed).
 * Goal (source-connector issue): keep up with >= 100 000 commands/s.
 *
 * Everything stops at the end, also on failure: the source (SIGTERM; its CPU
 * profile is written then), the stack (stackDown), the temp files.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { defaultStackSettings, stackDown, stackUp } from '../services/cli/stack/stack';
import { packageRoot } from '../services/shared/paths';
import { keySlot } from '../services/shared/slot';
import { DEFAULT_PARTITIONS, ensureTopics } from '../services/shared/topics';
import { topSelfTime } from './lib/cpu-profile';
import { arg, printMachine } from './lib/machine';

const run = promisify(execFile);
const GOAL_COMMANDS_PER_S = 100_000;
const DC = 'bench';
const TESTS = ['set', 'incr', 'lpush'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now() / 1000;

function log(line: string): void {
  console.error(`[${new Date().toISOString().slice(11, 23)}] ${line}`);
}

async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 30_000 });
  return stdout;
}

async function masterPorts(seedPort: number): Promise<number[]> {
  const nodes = await redisCli(seedPort, 'cluster', 'nodes');
  return nodes
    .split('\n')
    .filter((l) => / master /.test(` ${l.split(' ')[2] ?? ''} `.replace(/,/g, ' ')) && !l.includes('fail'))
    .map((l) => Number(/:(\d+)@/.exec(l)?.[1]))
    .sort((a, b) => a - b);
}

function infoField(info: string, field: string): number {
  const m = new RegExp(`^${field}:(\\d+)`, 'm').exec(info);
  if (!m) throw new Error(`INFO has no ${field}`);
  return Number(m[1]);
}

/** Calls of the benchmark's write commands executed by the masters so far. */
async function writeCalls(ports: number[]): Promise<number> {
  let total = 0;
  for (const port of ports) {
    const stats = await redisCli(port, 'info', 'commandstats');
    for (const cmd of TESTS) {
      const m = new RegExp(`^cmdstat_${cmd}:calls=(\\d+)`, 'm').exec(stats);
      if (m) total += Number(m[1]);
    }
  }
  return total;
}

async function replOffsets(ports: number[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const port of ports) out[`127.0.0.1:${port}`] = infoField(await redisCli(port, 'info', 'replication'), 'master_repl_offset');
  return out;
}

/** redis-benchmark --csv: `"SET","123456.79",…` per test → requests/s per test. */
async function redisBenchmark(seedPort: number, requests: number): Promise<{ rps: Record<string, number>; seconds: number }> {
  const args = ['-h', '127.0.0.1', '-p', String(seedPort), '--cluster', '-P', '16', '-n', String(requests), '-r', '100000', '-t', TESTS.join(','), '--csv'];
  log(`redis-benchmark ${args.join(' ')}`);
  const t0 = now();
  const { stdout } = await run('redis-benchmark', args, { timeout: 600_000, maxBuffer: 16 << 20 });
  const rps: Record<string, number> = {};
  for (const line of stdout.split('\n')) {
    const m = /^"([A-Z]+)[^"]*","([\d.]+)"/.exec(line);
    if (m) rps[m[1].toLowerCase()] = Number(m[2]);
  }
  return { rps, seconds: now() - t0 };
}

/** Each master's slot ranges, from CLUSTER NODES (`… connected 0-5460 …`). */
async function masterSlots(seedPort: number): Promise<Map<number, [number, number][]>> {
  const out = new Map<number, [number, number][]>();
  for (const line of (await redisCli(seedPort, 'cluster', 'nodes')).split('\n')) {
    const f = line.split(' ');
    if (!f[2]?.split(',').includes('master') || f[2].includes('fail')) continue;
    const port = Number(/:(\d+)@/.exec(f[1])?.[1]);
    const ranges = f.slice(8).filter((r) => /^\d+(-\d+)?$/.test(r)).map((r) => r.split('-').map(Number) as [number, number]);
    out.set(port, ranges.map(([a, b]) => [a, b ?? a]));
  }
  return out;
}

const resp = (args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;

/**
 * The same mix as redis-benchmark (SET 3-byte value, INCR, LPUSH; keys from a
 * space of 100 000) but with keys spread over every slot of each master:
 * redis-benchmark --cluster puts all of a master's keys behind one hash tag,
 * i.e. in one slot, hence one Kafka partition. One RESP file per master, fed
 * by `redis-cli --pipe`, all masters at once.
 */
function writePipeFiles(dir: string, slots: Map<number, [number, number][]>, requests: number): Map<number, string> {
  const owner = new Int32Array(16384).fill(-1);
  for (const [port, ranges] of slots) for (const [a, b] of ranges) for (let s = a; s <= b; s++) owner[s] = port;
  const keysOf = new Map<number, string[][]>([...slots.keys()].map((p) => [p, [[], [], []]]));
  for (let i = 0; i < 100_000; i++) {
    const n = String(i).padStart(12, '0');
    ['key:', 'counter:', 'mylist:'].forEach((prefix, t) => {
      const k = prefix + (t === 2 ? String(i % 1000) : n);
      if (t === 2 && i >= 1000) return;
      keysOf.get(owner[keySlot(k)])?.[t].push(k);
    });
  }
  const files = new Map<number, string>();
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (const [port, [sets, counters, lists]] of keysOf) {
    const per = Math.round(requests / slots.size);
    const parts: string[] = [];
    for (let i = 0; i < per; i++) {
      parts.push(resp(['SET', sets[rand(sets.length)], 'xxx']), resp(['INCR', counters[rand(counters.length)]]), resp(['LPUSH', lists[rand(lists.length)], 'xxx']));
    }
    const file = join(dir, `load-${port}.resp`);
    writeFileSync(file, parts.join(''));
    files.set(port, file);
  }
  return files;
}

/** Feeds every master its file at once with redis-cli --pipe; returns the commands/s Redis accepted. */
async function pipeLoad(files: Map<number, string>, commands: number): Promise<{ commandsPerS: number; seconds: number }> {
  log(`redis-cli --pipe into ${[...files.keys()].join(', ')}: ${commands} commands`);
  const t0 = now();
  await Promise.all(
    [...files].map(([port, file]) => run('sh', ['-c', `redis-cli -h 127.0.0.1 -p ${port} --pipe --pipe-timeout 120 < '${file}'`], { timeout: 600_000 })),
  );
  const seconds = now() - t0;
  return { commandsPerS: commands / seconds, seconds };
}

interface SourceChild {
  proc: ChildProcess;
  exited: Promise<number | null>;
  port: Promise<number>;
  logFile: string;
}

function startSource(dir: string, kafkaBrokers: string, seeds: string, cli: string, profile: 'cpu-prof' | 'v8-prof' | undefined, profDir: string): SourceChild {
  const config = join(dir, 'source.yaml');
  writeFileSync(
    config,
    [`dc: ${DC}`, 'kafka:', `  brokers: [${kafkaBrokers}]`, 'redis:', `  nodes: [${seeds}]`, 'http:', '  host: 127.0.0.1', '  port: 0', 'log:', '  level: info', ''].join('\n'),
  );
  const logFile = join(dir, 'source.log');
  const out = createWriteStream(logFile, { flags: 'a' });
  // --cpu-prof writes its profile on a clean exit; --prof logs ticks as it goes, so it survives a SIGKILL.
  const execArgv = profile === 'cpu-prof' ? ['--cpu-prof', '--cpu-prof-dir', profDir] : profile === 'v8-prof' ? ['--prof'] : [];
  const proc = spawn(process.execPath, [...execArgv, cli, 'source', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], cwd: profile ? profDir : undefined });
  // stdout is copied into the same file below: the file ends once both have closed, not when stderr does.
  proc.stderr?.pipe(out, { end: false });
  proc.once('close', () => out.end());
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  // http.port 0 picks a free port (no fixed port outside the bench's own): read it from the log line.
  const port = new Promise<number>((resolve, reject) => {
    let buffered = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out.write(d);
      buffered += d.toString('utf8');
      const m = /"port":(\d+)[^\n]*serving \/metrics/.exec(buffered);
      if (m) resolve(Number(m[1]));
      if (buffered.length > 1 << 20) buffered = buffered.slice(-4096);
    });
    void exited.then((code) => reject(new Error(`source exited with ${code} before serving /metrics`)));
  });
  return { proc, exited, port, logFile };
}

interface SourceMetrics {
  events: number;
  commits: number;
  commitFailures: number;
  offsets: Record<string, number>;
}

let stalls = 0;
let lastMetrics: SourceMetrics = { events: 0, commits: 0, commitFailures: 0, offsets: {} };

/**
 * The source's counters. A /metrics request that takes over 5 s means the
 * source's event loop is blocked: counted as a stall (reported), and the last
 * figures stand in; the drain timeout still bounds the wait.
 */
async function metrics(port: number): Promise<SourceMetrics> {
  let text: string;
  try {
    text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  } catch (err) {
    stalls++;
    log(`/metrics did not answer (${(err as Error).name}): the source's event loop is blocked`);
    return lastMetrics;
  }
  const m: SourceMetrics = { events: 0, commits: 0, commitFailures: 0, offsets: {} };
  const value = (line: string) => Number(line.slice(line.lastIndexOf(' ') + 1));
  for (const line of text.split('\n')) {
    if (line.startsWith('tandem_source_events_published_total{')) m.events += value(line);
    else if (line.startsWith('tandem_source_kafka_commits_total ')) m.commits = value(line);
    else if (line.startsWith('tandem_source_kafka_commit_failures_total ')) m.commitFailures = value(line);
    const o = /^tandem_source_repl_offset\{link="([^"]+)"\} (\d+)/.exec(line);
    if (o) m.offsets[o[1]] = Number(o[2]);
  }
  lastMetrics = m;
  return m;
}

async function waitReady(port: number, child: SourceChild, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null) throw new Error(`source exited with ${child.proc.exitCode}`);
    const r = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
    if (r?.status === 200) return;
    await sleep(200);
  }
  throw new Error(`source not ready within ${timeoutMs} ms`);
}

async function stopSource(child: SourceChild): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  const stopped = await Promise.race([child.exited.then(() => true), sleep(30_000).then(() => false)]);
  if (!stopped) {
    log('source did not stop within 30 s of SIGTERM; sending SIGKILL');
    child.proc.kill('SIGKILL');
    await child.exited;
  }
}

type LoadName = 'redis-benchmark' | 'pipe-spread';

interface LoadResult {
  load: LoadName;
  redisAlone: Record<string, number>;
  redisWithSource: Record<string, number>;
  writeCommands: number;
  loadSeconds: number;
  committedAtLoadEnd: number;
  behindAtLoadEndCommands: number;
  behindAtLoadEndBytes: number;
  allCommittedAfterS: number | null;
  drainSeconds: number | null;
  committed: number;
  commits: number;
  commitFailures: number;
  metricsStalls: number;
  sustainedCommandsPerS: number;
  timeline: string[];
  vsGoal: number;
}

/**
 * Runs one load with the source attached and measures, from the load's
 * start, how long until the source has committed every write command the
 * masters executed and its links consumed each master's stream.
 */
async function measure(
  load: LoadName,
  runLoad: () => Promise<Record<string, number>>,
  redisAlone: Record<string, number>,
  masters: number[],
  httpPort: number,
  child: SourceChild,
  drainTimeoutS: number,
): Promise<LoadResult> {
  stalls = 0;
  const before = await metrics(httpPort);
  const calls0 = await writeCalls(masters);
  const t0 = now();
  const samples: { t: number; events: number }[] = [];
  let loadDone = false;
  const loading = runLoad().finally(() => {
    loadDone = true;
  });
  // Bounded: each load runs under a 600 s timeout.
  while (!loadDone) {
    samples.push({ t: now() - t0, events: (await metrics(httpPort)).events - before.events });
    await sleep(250);
  }
  const redisWithSource = await loading;
  const t1 = now() - t0;
  const commands = (await writeCalls(masters)) - calls0;
  const targetOffsets = await replOffsets(masters);
  const atLoadEnd = await metrics(httpPort);
  const committedAtLoadEnd = atLoadEnd.events - before.events;
  const bytesBehind = Object.entries(targetOffsets).reduce((s, [link, off]) => s + Math.max(0, off - (atLoadEnd.offsets[link] ?? 0)), 0);
  log(`${load}: load done in ${t1.toFixed(1)} s: ${commands} write commands; ${committedAtLoadEnd} committed; ${bytesBehind} stream bytes not yet consumed`);

  let t2 = Number.NaN;
  let last = atLoadEnd;
  while (now() - t0 < t1 + drainTimeoutS) {
    last = await metrics(httpPort);
    samples.push({ t: now() - t0, events: last.events - before.events });
    const consumed = Object.entries(targetOffsets).every(([link, off]) => (last.offsets[link] ?? 0) >= off);
    if (last.events - before.events >= commands && consumed) {
      t2 = now() - t0;
      break;
    }
    if (child.proc.exitCode !== null) throw new Error(`source exited with ${child.proc.exitCode} during the drain`);
    await sleep(100);
  }
  const committed = last.events - before.events;
  if (Number.isNaN(t2)) log(`${load}: NOT caught up ${drainTimeoutS} s after the load: ${committed} of ${commands} committed`);
  // Committed events over time (every 250 ms during the load, 100 ms after), for a look at how commits progress.
  const timeline = samples.filter((_, i) => i % 4 === 0).map((x) => `${x.t.toFixed(1)}s:${x.events}`);
  const sustained = Number.isNaN(t2) ? committed / (now() - t0) : commands / t2;
  return {
    load,
    redisAlone,
    redisWithSource,
    writeCommands: commands,
    loadSeconds: Number(t1.toFixed(2)),
    committedAtLoadEnd,
    behindAtLoadEndCommands: commands - committedAtLoadEnd,
    behindAtLoadEndBytes: bytesBehind,
    allCommittedAfterS: Number.isNaN(t2) ? null : Number(t2.toFixed(2)),
    drainSeconds: Number.isNaN(t2) ? null : Number((t2 - t1).toFixed(2)),
    committed,
    commits: last.commits - before.commits,
    commitFailures: last.commitFailures - before.commitFailures,
    metricsStalls: stalls,
    sustainedCommandsPerS: Math.round(sustained),
    timeline,
    vsGoal: Number((sustained / GOAL_COMMANDS_PER_S).toFixed(2)),
  };
}

const rounded = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.round(v)]));

export async function main(argv: string[]): Promise<void> {
  const machine = printMachine('source-throughput');
  const requests = Math.min(10_000_000, Number(arg(argv, '--requests', '100000')));
  const partitions = Number(arg(argv, '--partitions', String(DEFAULT_PARTITIONS)));
  const drainTimeoutS = Math.min(1800, Number(arg(argv, '--drain-timeout-s', '120')));
  const loads = arg(argv, '--loads', 'pipe-spread,redis-benchmark').split(',') as LoadName[];
  const profile = argv.includes('--cpu-prof') ? 'cpu-prof' : argv.includes('--v8-prof') ? 'v8-prof' : undefined;
  const settings = defaultStackSettings({
    stateDir: join(packageRoot(), '.tandem', 'bench-stack'),
    // Below the ephemeral range (32768+), cluster bus ports (+10000) included.
    kafkaPort: 21092,
    kafkaControllerPort: 21093,
    redisABasePort: 21000,
    redisBBasePort: 21100,
  });
  const dir = mkdtempSync(join(tmpdir(), 'tandem-bench-source-'));
  const profDir = join(packageRoot(), '.tandem', 'profiles', `source-${process.pid}`);
  let child: SourceChild | undefined;
  let ok = false;
  const results: LoadResult[] = [];
  try {
    const stack = await stackUp(settings, log);
    const seedPort = settings.redisABasePort;
    const masters = await masterPorts(seedPort);
    log(`cluster a masters: ${masters.join(', ')}`);
    const kafka = new Kafka({ clientId: 'tandem-bench', brokers: [stack.endpoints.kafkaBrokers], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, { dc: DC, partitions, retentionMs: -1, replicationFactor: 1 });
    } finally {
      await admin.disconnect();
    }
    const pipeFiles = writePipeFiles(dir, await masterSlots(seedPort), requests);
    const runners: Record<LoadName, () => Promise<Record<string, number>>> = {
      'redis-benchmark': async () => (await redisBenchmark(seedPort, requests)).rps,
      'pipe-spread': async () => ({ all: (await pipeLoad(pipeFiles, TESTS.length * requests)).commandsPerS }),
    };

    // Redis alone, each load once, then back to an empty cluster.
    const alone = new Map<LoadName, Record<string, number>>();
    for (const load of loads) {
      alone.set(load, await runners[load]());
      log(`redis alone, ${load}: ${JSON.stringify(rounded(alone.get(load)!))}`);
      for (const port of masters) await redisCli(port, 'flushall');
    }

    // The source, attached to the empty cluster; then each load again.
    if (profile) mkdirSync(profDir, { recursive: true });
    // --cli runs another build of the source (an A/B of a change) against the same stack and loads.
    const cli = resolve(arg(argv, '--cli', join(packageRoot(), 'dist/services/bin/tandem.js')));
    log(`source: ${cli}`);
    child = startSource(dir, stack.endpoints.kafkaBrokers, stack.endpoints.redisA, cli, profile, profDir);
    const httpPort = await Promise.race([child.port, sleep(60_000).then(() => Promise.reject(new Error('source did not serve /metrics within 60 s')))]);
    await waitReady(httpPort, child, 120_000);
    await sleep(1_000);
    log(`source ready (metrics on 127.0.0.1:${httpPort})`);
    for (const load of loads) {
      const r = await measure(load, runners[load], alone.get(load)!, masters, httpPort, child, drainTimeoutS);
      results.push(r);
      console.log(JSON.stringify({ bench: 'source-throughput', machine, requestsPerTest: requests, partitions, ...r }));
    }
    console.table(
      results.flatMap((r) => [
        { load: r.load, what: 'Redis alone, commands/s', ...rounded(r.redisAlone) },
        { load: r.load, what: 'Redis with the source, commands/s', ...rounded(r.redisWithSource) },
      ]),
    );
    console.table(
      results.map((r) => ({
        load: r.load,
        commands: r.writeCommands,
        loadS: r.loadSeconds,
        behindAtLoadEnd: r.behindAtLoadEndCommands,
        allCommittedAfterS: r.allCommittedAfterS,
        sustainedPerS: r.sustainedCommandsPerS,
        stalls: r.metricsStalls,
        vsGoal: r.vsGoal,
      })),
    );
    ok = true;
  } finally {
    if (child) {
      await stopSource(child);
      if (!ok) log(`source log (last 3000 chars):\n${existsSync(child.logFile) ? readFileSync(child.logFile, 'utf8').slice(-3000) : '(none)'}`);
    }
    if (argv.includes('--keep-stack')) log(`stack left running in ${settings.stateDir}`);
    else await stackDown(settings.stateDir, log);
    if (ok) rmSync(dir, { recursive: true, force: true });
    else log(`kept the source's config and log in ${dir}`);
  }
  if (profile === 'v8-prof') log(`V8 tick log in ${profDir}: node --prof-process ${profDir}/isolate-*.log`);
  if (profile === 'cpu-prof') {
    for (const f of readdirSync(profDir).filter((n) => n.endsWith('.cpuprofile'))) {
      console.log(`\nsource CPU profile ${join(profDir, f)}, top self time:`);
      for (const line of topSelfTime(join(profDir, f), 30)) console.log(line);
    }
  }
}
