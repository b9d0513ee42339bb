import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis, { Cluster } from 'ioredis';
import { clusterPorts, createCluster, startRedisCluster, startRedisNode, type RedisClusterSettings } from '../../services/cli/stack/redis-cluster';
import { exitReason, stopProcess, waitFor, type StartedProcess } from '../../services/cli/stack/processes';
import { defaultStackSettings } from '../../services/cli/stack/stack';
import { SLOT_COUNT } from '../../services/shared/slot';
import { slotTag } from '../../services/shared/slot-tags';

/**
 * Two dedicated Redis Clusters for the topology tests (issue 11): they get
 * resharded, grown and shrunk, so they are never the shared test clusters a
 * and b. Each is 3 masters with one replica each (6 nodes), plus spare nodes
 * that `startSpare` starts on demand for `add-node`. They use the test run's
 * Kafka (TANDEM_KAFKA_BROKERS, from the global setup).
 *
 * Also here: the `redis-cli --cluster` operations an operator runs (reshard,
 * add-node, rebalance, del-node), each failing with the tool's own words, and
 * a load writer for both DCs whose INCR counts are exact.
 */
const OFFSET = Number(process.env.TANDEM_TEST_PORT_OFFSET ?? 0);
const NODES = 6;
const SPARES = 2;
// Clear of the demo stack (17000/17100, Kafka 19092), the test stack (21000/21100,
// Kafka 24092), the secure stack (20200/20300, 20492-4) and the services' HTTP
// ports (29500+); the cluster bus (port + 10000) stays below Linux's ephemeral range.
export const TOPOLOGY_PORTS = { a: 18000 + OFFSET, b: 18100 + OFFSET } as const;
if (TOPOLOGY_PORTS.b + NODES + SPARES + 10000 >= 32768) {
  throw new Error(`TANDEM_TEST_PORT_OFFSET ${OFFSET} puts the topology stack's cluster bus in the ephemeral port range`);
}

export type Seed = { host: string; port: number };

export interface ClusterNodeRow {
  id: string;
  host: string;
  port: number;
  role: 'master' | 'replica';
  masterId?: string;
  /** Slots this node serves (0 for a replica or an empty master). */
  slots: number;
  /** [start, end] ranges it serves. */
  ranges: [number, number][];
}

export class TopologyCluster {
  private readonly spareNext: number[];

  constructor(
    readonly name: 'a' | 'b',
    readonly settings: RedisClusterSettings,
    private readonly processes: StartedProcess[],
    private readonly persist: () => void,
    private readonly log: (line: string) => void,
  ) {
    this.spareNext = Array.from({ length: SPARES }, (_, i) => settings.basePort + NODES + i);
  }

  /** The nodes `createCluster` made; some may later leave (del-node). */
  get seeds(): Seed[] {
    return clusterPorts(this.settings).map((port) => ({ host: '127.0.0.1', port }));
  }

  /** A `tandem verify` URL. */
  get url(): string {
    return `redis://${this.seeds.map((s) => `${s.host}:${s.port}`).join(',')}`;
  }

  /** A `tandem verify` URL naming the nodes the cluster has now (a node removed by del-node is left out). */
  async liveUrl(): Promise<string> {
    return `redis://${(await this.nodes()).map((n) => `${n.host}:${n.port}`).join(',')}`;
  }

  /** A cluster client of this cluster (follows MOVED, ASK, TRYAGAIN; never resends a command that may have run). */
  client(): Cluster {
    return loadClient(this.seeds);
  }

  /** CLUSTER NODES of a live node, parsed. */
  async nodes(): Promise<ClusterNodeRow[]> {
    const errors: string[] = [];
    for (const seed of await this.liveSeeds()) {
      const r = new Redis({ ...seed, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
      r.on('error', () => undefined);
      try {
        await r.connect();
        return parseNodes(String(await r.call('CLUSTER', 'NODES')));
      } catch (err) {
        errors.push(`${seed.port}: ${(err as Error).message}`);
      } finally {
        r.disconnect();
      }
    }
    throw new Error(`cluster ${this.name}: no node answers CLUSTER NODES (${errors.join('; ')})`);
  }

  /** Masters with their slot counts, most slots first. */
  async masters(): Promise<ClusterNodeRow[]> {
    return (await this.nodes()).filter((n) => n.role === 'master').sort((x, y) => y.slots - x.slots);
  }

  /** Starts the next spare node (empty, cluster-enabled, not yet in the cluster) and returns its port. */
  async startSpare(): Promise<number> {
    const port = this.spareNext.shift();
    if (port === undefined) throw new Error(`cluster ${this.name}: all ${SPARES} spare nodes are in use`);
    const dir = join(this.settings.dir, String(port));
    rmSync(dir, { recursive: true, force: true });
    const p = startRedisNode(this.settings, port);
    this.processes.push(p);
    this.persist();
    await waitFor(`spare redis-server on port ${port}`, 30_000, () => pingPort(port), 200, () => exitReason(p, [join(dir, 'redis.log'), p.logFile]));
    this.log(`cluster ${this.name}: spare node started on ${port}`);
    return port;
  }

  /** `redis-cli --cluster reshard`: moves `slots` slots from one master to another, keys included. */
  async reshard(o: { from: string; to: string; slots: number; pipeline?: number }): Promise<string> {
    const entry = await this.entry();
    const out = await redisCliCluster([
      'reshard', entry, '--cluster-from', o.from, '--cluster-to', o.to, '--cluster-slots', String(o.slots), '--cluster-yes',
      ...(o.pipeline ? ['--cluster-pipeline', String(o.pipeline)] : []),
    ], `reshard of ${o.slots} slots from ${o.from} to ${o.to} in cluster ${this.name}`);
    await this.waitStable();
    return out;
  }

  /** `redis-cli --cluster add-node`: joins the node on `port` as an empty master. */
  async addNode(port: number): Promise<string> {
    const entry = await this.entry();
    const out = await redisCliCluster(['add-node', `127.0.0.1:${port}`, entry], `add-node 127.0.0.1:${port} to cluster ${this.name}`);
    await waitFor(`node ${port} to be known by every node of cluster ${this.name}`, 30_000, async () => {
      const views = await this.eachNode((r) => r.call('CLUSTER', 'NODES') as Promise<string>);
      return views.every((v) => v.includes(`127.0.0.1:${port}@`)) ? true : undefined;
    });
    await this.waitStable();
    return out;
  }

  /** `redis-cli --cluster rebalance --cluster-use-empty-masters`. */
  async rebalanceUseEmptyMasters(extra: string[] = []): Promise<string> {
    const entry = await this.entry();
    const out = await redisCliCluster(['rebalance', entry, '--cluster-use-empty-masters', ...extra], `rebalance --cluster-use-empty-masters of cluster ${this.name}`);
    await this.waitStable();
    return out;
  }

  /** `redis-cli --cluster del-node`: the node must be empty; redis-cli makes every node forget it and shuts it down. */
  async delNode(id: string): Promise<string> {
    const victim = (await this.nodes()).find((n) => n.id === id);
    if (victim === undefined) throw new Error(`cluster ${this.name} has no node ${id}`);
    const entry = (await this.liveSeeds()).find((s) => s.port !== victim.port);
    if (entry === undefined) throw new Error(`cluster ${this.name}: no node besides ${id} answers`);
    const out = await redisCliCluster(['del-node', `${entry.host}:${entry.port}`, id], `del-node ${id} (${victim.host}:${victim.port}) from cluster ${this.name}`);
    await this.waitStable();
    return out;
  }

  /**
   * Waits until every node of the cluster reports cluster_state:ok, no slot
   * is importing or migrating, and all nodes agree on the slot owners
   * (`redis-cli --cluster check`).
   */
  async waitStable(timeoutMs = 60_000): Promise<void> {
    let last = '';
    await waitFor(`cluster ${this.name} to settle (all slots covered, nodes agreeing, no open slot)`, timeoutMs, async () => {
      const states = await this.eachNode((r) => r.cluster('INFO'));
      if (!states.every((s) => /cluster_state:ok/.test(s))) return undefined;
      const r = await runRedisCli(['--cluster', 'check', await this.entry()]);
      last = r.out;
      return r.status === 0 && !/\[ERR\]|\[WARNING\]/.test(r.out) ? true : undefined;
    }, 500).catch((err: Error) => {
      throw new Error(`${err.message}\nlast redis-cli --cluster check:\n${last.slice(-2000)}`);
    });
  }

  /** `host:port` of a live node. */
  private async entry(): Promise<string> {
    const [s] = await this.liveSeeds();
    if (s === undefined) throw new Error(`cluster ${this.name}: no node answers`);
    return `${s.host}:${s.port}`;
  }

  /** The nodes started for this cluster that answer PING now. */
  private async liveSeeds(): Promise<Seed[]> {
    const ports = [...clusterPorts(this.settings), ...Array.from({ length: SPARES }, (_, i) => this.settings.basePort + NODES + i)];
    const alive = await Promise.all(ports.map(async (port) => ((await pingPort(port).catch(() => undefined)) ? port : undefined)));
    return alive.filter((p): p is number => p !== undefined).map((port) => ({ host: '127.0.0.1', port }));
  }

  /** Runs `f` on every node the cluster knows (CLUSTER NODES, failed ones left out). */
  private async eachNode<T>(f: (r: Redis) => Promise<T>): Promise<T[]> {
    const nodes = await this.nodes();
    return Promise.all(nodes.map(async (n) => {
      const r = new Redis({ host: n.host, port: n.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
      r.on('error', () => undefined);
      try {
        await r.connect();
        return await f(r);
      } finally {
        r.disconnect();
      }
    }));
  }
}

export interface TopologyStack {
  a: TopologyCluster;
  b: TopologyCluster;
  stop(): Promise<void>;
}

/**
 * Starts both dedicated clusters from empty nodes, after stopping whatever a
 * crashed earlier run left behind (its pids are in processes.json).
 */
export async function startTopologyStack(log: (line: string) => void = () => {}): Promise<TopologyStack> {
  const base = defaultStackSettings({});
  const dir = join(base.cacheDir, '..', `topology-stack${OFFSET ? `-${OFFSET}` : ''}`);
  const stateFile = join(dir, 'processes.json');
  if (existsSync(stateFile)) await Promise.all((JSON.parse(readFileSync(stateFile, 'utf8')) as StartedProcess[]).map((p) => stopProcess(p)));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const processes: StartedProcess[] = [];
  const persist = () => writeFileSync(stateFile, JSON.stringify(processes));
  const settings = (name: 'a' | 'b'): RedisClusterSettings => ({
    name: `topology-${name}`,
    basePort: TOPOLOGY_PORTS[name],
    masters: 3,
    replicasPerMaster: 1,
    dir: join(dir, `redis-${name}`),
    // What the source needs (expired and evicted keyevents), in the config as docs/operations.md advises,
    // so that a node added later has it too.
    extraArgs: ['--notify-keyspace-events', 'Exe'],
  });
  const a = new TopologyCluster('a', settings('a'), processes, persist, log);
  const b = new TopologyCluster('b', settings('b'), processes, persist, log);
  const stop = async () => {
    await Promise.all(processes.map((p) => stopProcess(p)));
  };
  try {
    processes.push(...startRedisCluster(a.settings, log), ...startRedisCluster(b.settings, log));
    persist();
    await Promise.all([createCluster(a.settings, 60_000, processes), createCluster(b.settings, 60_000, processes)]);
  } catch (err) {
    await stop();
    throw err;
  }
  return { a, b, stop };
}

function parseNodes(text: string): ClusterNodeRow[] {
  return text.trim().split('\n').filter(Boolean).flatMap((line) => {
    const parts = line.trim().split(' ');
    const flags = parts[2].split(',');
    if (flags.includes('fail') || flags.includes('noaddr') || flags.includes('handshake')) return [];
    const [hostPort] = parts[1].split('@');
    const sep = hostPort.lastIndexOf(':');
    const ranges = parts.slice(8).filter((s) => !s.startsWith('[')).map((s) => {
      const [x, y] = s.split('-').map(Number);
      return [x, y ?? x] as [number, number];
    });
    return [{
      id: parts[0],
      host: hostPort.slice(0, sep),
      port: Number(hostPort.slice(sep + 1)),
      role: flags.includes('master') ? 'master' : 'replica',
      masterId: parts[3] === '-' ? undefined : parts[3],
      slots: ranges.reduce((n, [x, y]) => n + y - x + 1, 0),
      ranges,
    } satisfies ClusterNodeRow];
  });
}

async function pingPort(port: number): Promise<true | undefined> {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return (await r.ping()) === 'PONG' ? true : undefined;
  } catch {
    return undefined; // not up (yet)
  } finally {
    r.disconnect();
  }
}

function runRedisCli(args: string[]): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    // Asynchronous: the test's load clients keep writing while redis-cli works.
    const p = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.once('error', reject);
    p.once('exit', (status) => resolve({ status, out }));
  });
}

/** Runs `redis-cli --cluster <args>`; throws with the tool's last lines when it fails or reports an [ERR]. */
export async function redisCliCluster(args: string[], what: string): Promise<string> {
  const { status, out } = await runRedisCli(['--cluster', ...args]);
  if (status !== 0 || /\[ERR\]/.test(out)) {
    const tail = out.trim().split('\n').filter((l) => !/^Moving slot|^\.+$/.test(l)).slice(-12).join('\n');
    throw new Error(`redis-cli --cluster ${what} failed (exit ${status}):\n${tail}`);
  }
  return out;
}

/**
 * A cluster client for the load: it follows MOVED and ASK (ASKING first),
 * waits out TRYAGAIN and CLUSTERDOWN (ioredis' delay queues), and never
 * resends a command whose connection dropped (it may have run: the caller
 * counts it as uncertain instead).
 */
export function loadClient(seeds: Seed[]): Cluster {
  return new Cluster(seeds, {
    enableAutoPipelining: false,
    maxRedirections: 64,
    retryDelayOnTryAgain: 50,
    retryDelayOnClusterDown: 100,
    retryDelayOnMoved: 0,
    redisOptions: { autoResendUnfulfilledCommands: false, connectTimeout: 3000 },
  });
}

// ---------------------------------------------------------------- load writer

/** Reply errors that mean the command did not run (a redirect, or a cluster not ready), so it is not counted. */
const NOT_RUN = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|LOADING|MASTERDOWN)\b|^Too many Cluster redirections|^Failed to refresh slots cache|^None of startup nodes is available/;

export interface DcLoadSpec {
  /** A label for messages, e.g. the DC. */
  name: string;
  cluster: Cluster;
  /** Key prefix of this DC's key space; keys are `<prefix>:{<tag>}:c<i>` (counters) and `<prefix>:{<tag>}:s<j>` (strings). */
  prefix: string;
}

export interface DcLoadResult {
  name: string;
  prefix: string;
  /** Counter keys, by index. */
  counterKeys: string[];
  /** Acknowledged INCRs per counter: exactly the value each counter must hold. */
  issued: number[];
  /** Counters with an INCR that failed in a way that leaves unknown whether it ran (then `issued` is not exact for it). */
  uncertain: Map<number, string>;
  incrs: number;
  sets: number;
  /** INCRs and SETs refused with a redirect or not-ready error (not run; not counted). */
  refused: number;
  /** The first errors of other kinds. */
  errors: string[];
}

export interface LoadOptions {
  /** Counters per DC, their hash tags spread evenly over all 16384 slots. */
  counters?: number;
  /** String keys per DC, spread over all slots; each SET overwrites one with a new value. */
  stringKeys?: number;
  /** INCRs and SETs (each) per round; rounds follow each other with `pauseMs` between. */
  perRound?: number;
  pauseMs?: number;
  /**
   * Per DC name: slots that get `share` (0-1) of that DC's writes, on extra
   * counters and strings of their own (`<prefix>:{<tag>}:hc<i>`, `…:hs<j>`),
   * e.g. the slots a reshard is about to move, so that writes meet them while
   * they migrate. The rest of the writes stay spread over all slots.
   */
  hot?: Record<string, { slots: number[]; share: number }>;
}

export interface LoadHandle {
  /** Results so far (live objects). */
  results: DcLoadResult[];
  /** Stops the writers and resolves once every issued command has its reply. */
  stop(): Promise<DcLoadResult[]>;
}

/**
 * Writes into every given DC at once, each into its own key space, until
 * stopped: INCRs of counters, counted only when acknowledged, and SETs of
 * string keys to fresh values. Hash tags cover every slot, so a slot moving
 * between masters always has keys being written.
 */
export function startLoad(dcs: DcLoadSpec[], o: LoadOptions = {}): LoadHandle {
  const counters = o.counters ?? 512;
  const stringKeys = o.stringKeys ?? 2048;
  const perRound = o.perRound ?? 20;
  const pauseMs = o.pauseMs ?? 20;
  let running = true;
  const hotOf = (d: DcLoadSpec) => o.hot?.[d.name] ?? { slots: [], share: 0 };
  // Two hot counters and four hot strings per hot slot.
  const hotCounterKeys = (d: DcLoadSpec) => hotOf(d).slots.flatMap((slot) => [0, 1].map((n) => `${d.prefix}:{${slotTag(slot)}}:hc${slot}-${n}`));
  const hotStringKeys = (d: DcLoadSpec) => hotOf(d).slots.flatMap((slot) => [0, 1, 2, 3].map((n) => `${d.prefix}:{${slotTag(slot)}}:hs${slot}-${n}`));
  const results: DcLoadResult[] = dcs.map((d) => ({
    name: d.name,
    prefix: d.prefix,
    counterKeys: [
      ...Array.from({ length: counters }, (_, i) => `${d.prefix}:{${slotTag(Math.floor((i * SLOT_COUNT) / counters))}}:c${i}`),
      ...hotCounterKeys(d),
    ],
    issued: new Array<number>(counters + hotCounterKeys(d).length).fill(0),
    uncertain: new Map(),
    incrs: 0,
    sets: 0,
    refused: 0,
    errors: [],
  }));
  const stringKey = (prefix: string, j: number) => `${prefix}:{${slotTag(Math.floor((j * SLOT_COUNT) / stringKeys))}}:s${j}`;
  const loops = dcs.map(async (d, n) => {
    const r = results[n];
    const failed = (err: unknown): boolean => {
      const msg = err instanceof Error ? err.message : String(err);
      if (NOT_RUN.test(msg)) {
        r.refused++;
        return false;
      }
      if (r.errors.length < 20) r.errors.push(msg);
      return true;
    };
    const hot = hotOf(d);
    const hotStrings = hotStringKeys(d);
    const hotCounters = r.counterKeys.length - counters;
    const isHot = (seq: number) => hotCounters > 0 && (seq % 1000) < hot.share * 1000;
    let seq = 0;
    while (running) {
      const ops: Promise<void>[] = [];
      for (let k = 0; k < perRound; k++, seq++) {
        const c = isHot(seq) ? counters + ((seq * 7919) % hotCounters) : (seq * 7919 + n * 13) % counters;
        ops.push(
          d.cluster.incr(r.counterKeys[c]).then(
            () => {
              r.issued[c]++;
              r.incrs++;
            },
            (err: unknown) => {
              if (failed(err)) r.uncertain.set(c, err instanceof Error ? err.message : String(err));
            },
          ),
        );
        const key = isHot(seq) ? hotStrings[(seq * 104729) % hotStrings.length] : stringKey(d.prefix, (seq * 104729 + n * 31) % stringKeys);
        ops.push(
          d.cluster.set(key, `${d.name}-${seq}-${'x'.repeat(seq % 64)}`).then(
            () => void r.sets++,
            (err: unknown) => void failed(err),
          ),
        );
      }
      await Promise.all(ops);
      if (pauseMs > 0) await new Promise((res) => setTimeout(res, pauseMs));
    }
  });
  return {
    results,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return results;
    },
  };
}

/**
 * Writes `perSlot` keys of `bytes` bytes into each given slot (one pipeline per
 * slot), e.g. so that a reshard has keys to migrate and each slot stays
 * migrating for a while. Returns the number of keys written.
 */
export async function fillSlots(cluster: Cluster, prefix: string, slots: number[], perSlot: number, bytes = 100): Promise<number> {
  const value = 'f'.repeat(bytes);
  for (let i = 0; i < slots.length; i += 16) {
    await Promise.all(slots.slice(i, i + 16).map(async (slot) => {
      const p = cluster.pipeline();
      for (let k = 0; k < perSlot; k++) p.set(`${prefix}:{${slotTag(slot)}}:f${k}`, value);
      const replies = (await p.exec()) ?? [];
      const failed = replies.find(([err]) => err);
      if (failed) throw new Error(`filling slot ${slot}: ${String(failed[0])}`);
    }));
  }
  return slots.length * perSlot;
}

/** The counters' values in `cluster`, in the order of `r.counterKeys` (0 for a missing key). */
export async function readCounters(cluster: Cluster, r: DcLoadResult): Promise<number[]> {
  return Promise.all(r.counterKeys.map(async (k) => Number((await cluster.get(k)) ?? 0)));
}
