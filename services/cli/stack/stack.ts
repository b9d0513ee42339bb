import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TandemError } from '../../shared/errors';
import { packageRoot } from '../../shared/paths';
import { startKafka, waitForKafka, KAFKA_VERSION } from './kafka';
import { clusterPorts, createCluster, startRedisCluster, startRedisNode, clusterState, type RedisClusterSettings } from './redis-cluster';
import { exitReason, isOurProcess, stopProcess, type StartedProcess } from './processes';
import { requirePrograms } from './prereqs';

/**
 * The local stack: one Kafka broker and two Redis Clusters, `a` and `b`, as
 * plain processes on loopback. The demo, `tandem stack up|down|status` and the
 * integration tests all use this module.
 *
 * Everything it starts is recorded in `<stateDir>/stack.json` (pids, ports), so
 * `down` stops exactly those processes and nothing else.
 */
export interface StackSettings {
  stateDir: string;
  cacheDir: string;
  kafkaPort: number;
  kafkaControllerPort: number;
  kafkaHeap: string;
  redisABasePort: number;
  redisBBasePort: number;
  masters: number;
  replicasPerMaster: number;
  timeoutMs: number;
}

export interface StackEndpoints {
  kafkaBrokers: string;
  /** Seed nodes, `host:port,host:port,…`, of each cluster. */
  redisA: string;
  redisB: string;
}

export interface StackState {
  version: 1;
  startedAt: string;
  settings: StackSettings;
  endpoints: StackEndpoints;
  processes: StartedProcess[];
}

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0 || n > 65535) {
    throw new TandemError('CONFIG_INVALID', `${name} must be a port number (1-65535), got "${v}"`);
  }
  return n;
}

/** Defaults, overridable by TANDEM_* env vars and then by explicit settings. */
export function defaultStackSettings(overrides: Partial<StackSettings> = {}): StackSettings {
  const home = join(packageRoot(), '.tandem');
  return {
    stateDir: resolve(process.env.TANDEM_STATE_DIR ?? join(home, 'stack')),
    cacheDir: resolve(process.env.TANDEM_CACHE_DIR ?? join(home, 'cache')),
    kafkaPort: envInt('TANDEM_KAFKA_PORT', 19092),
    kafkaControllerPort: envInt('TANDEM_KAFKA_CONTROLLER_PORT', 19093),
    kafkaHeap: process.env.TANDEM_KAFKA_HEAP ?? '1G',
    redisABasePort: envInt('TANDEM_REDIS_A_PORT', 17000),
    redisBBasePort: envInt('TANDEM_REDIS_B_PORT', 17100),
    masters: 3,
    replicasPerMaster: 1,
    timeoutMs: 120_000,
    ...overrides,
  };
}

function clusterSettings(s: StackSettings, name: 'a' | 'b'): RedisClusterSettings {
  return {
    name,
    basePort: name === 'a' ? s.redisABasePort : s.redisBBasePort,
    masters: s.masters,
    replicasPerMaster: s.replicasPerMaster,
    dir: join(s.stateDir, `redis-${name}`),
  };
}

function endpointsOf(s: StackSettings): StackEndpoints {
  const seeds = (name: 'a' | 'b') => clusterPorts(clusterSettings(s, name)).map((p) => `127.0.0.1:${p}`).join(',');
  return { kafkaBrokers: `127.0.0.1:${s.kafkaPort}`, redisA: seeds('a'), redisB: seeds('b') };
}

/** The stack's listening ports (cluster bus ports too) inside the kernel's ephemeral range, where outgoing connections take their local ports. */
function ephemeralPorts(s: StackSettings): number[] {
  let range: [number, number];
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    range = [low, high];
  } catch {
    return []; // not Linux: nothing to say
  }
  const redis = (['a', 'b'] as const).flatMap((name) => clusterPorts(clusterSettings(s, name)).flatMap((p) => [p, p + 10_000]));
  return [s.kafkaPort, s.kafkaControllerPort, ...redis].filter((p) => p >= range[0] && p <= range[1]);
}

const stateFile = (stateDir: string) => join(stateDir, 'stack.json');

export function readStackState(stateDir: string): StackState | undefined {
  const f = stateFile(stateDir);
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as StackState;
  } catch (err) {
    throw TandemError.wrap('STACK_NOT_RUNNING', `cannot read ${f}`, err);
  }
}

function writeStackState(state: StackState): void {
  writeFileSync(stateFile(state.settings.stateDir), JSON.stringify(state, null, 2));
}

/**
 * Starts Kafka and both clusters and returns once all are ready: Kafka answers
 * metadata and has created a topic, and every Redis node says cluster_state:ok.
 * On any failure it stops what it started, then rethrows.
 */
export async function stackUp(settings: StackSettings, log: (line: string) => void = () => {}): Promise<StackState> {
  requirePrograms(['java', 'redis-server', 'redis-cli']);
  const existing = readStackState(settings.stateDir);
  if (existing && existing.processes.some((p) => isOurProcess(p.pid, p.marker))) {
    throw new TandemError('STACK_START_FAILED', `a stack already runs from ${settings.stateDir}; run \`tandem stack down\` first`);
  }
  const exposed = ephemeralPorts(settings);
  if (exposed.length > 0) {
    log(`warning: port(s) ${exposed.join(', ')} lie in this machine's ephemeral port range (net.ipv4.ip_local_port_range): an outgoing connection can hold one and make a node fail to bind; choose base ports below it (a Redis node also listens on its port + 10000)`);
  }
  mkdirSync(settings.stateDir, { recursive: true });
  const kafkaDir = join(settings.stateDir, 'kafka');
  // Each `up` starts from empty state: a demo or test run must not see old topics.
  rmSync(kafkaDir, { recursive: true, force: true });
  const state: StackState = {
    version: 1,
    startedAt: new Date().toISOString(),
    settings,
    endpoints: endpointsOf(settings),
    processes: [],
  };
  try {
    state.processes.push(
      startKafka(
        { port: settings.kafkaPort, controllerPort: settings.kafkaControllerPort, dir: kafkaDir, cacheDir: settings.cacheDir, heap: settings.kafkaHeap },
        log,
      ),
    );
    writeStackState(state);
    for (const name of ['a', 'b'] as const) {
      state.processes.push(...startRedisCluster(clusterSettings(settings, name), log));
      writeStackState(state);
    }
    const kafka = state.processes[0];
    const kafkaLogs = [join(kafkaDir, 'logs', 'server.log'), kafka.logFile];
    await Promise.all([
      createCluster(clusterSettings(settings, 'a'), settings.timeoutMs, state.processes),
      createCluster(clusterSettings(settings, 'b'), settings.timeoutMs, state.processes),
      waitForKafka(state.endpoints.kafkaBrokers, settings.timeoutMs, () => exitReason(kafka, kafkaLogs)),
    ]);
    log(`stack ready: Kafka ${state.endpoints.kafkaBrokers}, cluster a ${state.endpoints.redisA}, cluster b ${state.endpoints.redisB}`);
    return state;
  } catch (err) {
    log(`stack start failed, stopping what was started: ${(err as Error).message}`);
    await stopAll(state.processes);
    throw err;
  }
}

/** Stops every process at once, and returns (or throws the first failure) only when every stop has ended. */
async function stopAll(processes: StartedProcess[]): Promise<Record<string, string>> {
  const settled = await Promise.allSettled(processes.map(async (p) => [p.name, await stopProcess(p)] as const));
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  return Object.fromEntries(settled.map((r) => (r as PromiseFulfilledResult<readonly [string, string]>).value));
}

/** Stops every process recorded in the state file; safe to run twice. */
export async function stackDown(stateDir: string, log: (line: string) => void = () => {}): Promise<number> {
  const state = readStackState(stateDir);
  if (!state) {
    log(`no stack recorded in ${stateDir}; nothing to stop`);
    return 0;
  }
  const results = await stopAll(state.processes);
  const stopped = Object.values(results).filter((r) => r !== 'not-running').length;
  rmSync(stateFile(stateDir), { force: true });
  log(`stopped ${stopped} process(es) started by the stack in ${stateDir}`);
  return stopped;
}

export interface ProcessStatus {
  name: string;
  pid: number;
  running: boolean;
  detail: string;
}

export async function stackStatus(stateDir: string): Promise<{ state?: StackState; processes: ProcessStatus[] }> {
  const state = readStackState(stateDir);
  if (!state) return { processes: [] };
  const processes = await Promise.all(
    state.processes.map(async (p): Promise<ProcessStatus> => {
      const running = isOurProcess(p.pid, p.marker);
      let detail = p.name === 'kafka' ? `Kafka ${KAFKA_VERSION} at ${state.endpoints.kafkaBrokers}` : '';
      const port = /-(\d+)$/.exec(p.name)?.[1];
      if (running && port !== undefined) {
        const cs = await clusterState(Number(port), {});
        detail = cs ? `127.0.0.1:${port} ${cs.role}, cluster_state:${cs.state}` : `127.0.0.1:${port} not answering`;
      }
      return { name: p.name, pid: p.pid, running, detail };
    }),
  );
  return { state, processes };
}

/**
 * Starts a node of a running stack again (after a test killed it). It rejoins
 * its cluster from its nodes.conf; the state file records the new pid so that
 * `down` stops it.
 */
export function restartRedisNode(stateDir: string, port: number): StartedProcess {
  const state = readStackState(stateDir);
  if (!state) throw new TandemError('STACK_NOT_RUNNING', `no stack recorded in ${stateDir}`);
  const name = (['a', 'b'] as const).find((n) => clusterPorts(clusterSettings(state.settings, n)).includes(port));
  if (!name) throw new TandemError('STACK_NOT_RUNNING', `port ${port} belongs to no cluster of the stack in ${stateDir}`);
  const existing = state.processes.find((p) => p.name === `redis-${name}-${port}`);
  if (existing && isOurProcess(existing.pid, existing.marker)) {
    throw new TandemError('STACK_START_FAILED', `redis-${name}-${port} still runs (pid ${existing.pid})`);
  }
  const started = startRedisNode(clusterSettings(state.settings, name), port);
  state.processes = state.processes.filter((p) => p.name !== started.name).concat(started);
  writeStackState(state);
  return started;
}
