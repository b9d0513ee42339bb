import { spawnSync } from 'node:child_process';
import type { Cluster } from 'ioredis';
import { keySlot, slotPartition } from '../../../services/shared/slot';
import { clusterClient, testEndpoints } from '../../harness/endpoints';
import { startSink, type SinkProcess } from '../../harness/sink-process';
import { CLI, createDcTopics, sleep, startSource, waitCaughtUp, type SourceProcess } from '../../harness/source-process';

/**
 * `tandem status` end to end: source(sta) on cluster a feeds sink(stb) on
 * cluster b. The sink is SIGKILLed, writes go on, status shows the lag on the
 * partitions that received them; after a restart the lag is zero again (not
 * 1-2 per partition: a transaction's commit marker takes an offset).
 */
const run = Date.now().toString(36).slice(-6);
const SRC = `sta-${run}`;
const DST = `stb-${run}`;
const PARTITIONS = 8;
const brokers = () => testEndpoints().kafkaBrokers.join(',');
const redisA = () => `redis://${testEndpoints().redisA.map((s) => `${s.host}:${s.port}`).join(',')}`;
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });

interface Status {
  totalLag: number;
  partitions: { topic: string; partition: number; committed: string | null; logEnd: string; lag: number; lagExact: boolean; lagEvents?: number; applyLatencyAvgMs?: number }[];
  links: { address: string; replid?: string; offset?: number; master?: { masterReplOffset: number; gap?: number }; live?: { state: string; offset?: number }; lastFullResync?: { reason: string } }[];
}

function sinkStatus(sink?: SinkProcess): Status {
  const args = ['status', '--dc', DST, '--brokers', brokers(), '--peers', SRC, '--json'];
  if (sink) args.push('--sink-metrics', `127.0.0.1:${sink.httpPort}`);
  const r = cli(...args);
  if (r.status !== 0) throw new Error(`status exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Status;
}

async function waitLag(pred: (s: Status) => boolean, sink?: SinkProcess, timeoutMs = 90_000): Promise<Status> {
  const deadline = Date.now() + timeoutMs;
  let s = sinkStatus(sink);
  while (!pred(s) && Date.now() < deadline) {
    await sleep(1000);
    s = sinkStatus(sink);
  }
  return s;
}

let a: Cluster;
let source: SourceProcess | undefined;
let sink: SinkProcess | undefined;

beforeAll(async () => {
  await createDcTopics(SRC, PARTITIONS);
  await createDcTopics(DST, PARTITIONS);
  a = clusterClient('a');
});

afterAll(async () => {
  await sink?.kill();
  await source?.kill();
  a.disconnect();
});

describe('tandem status', () => {
  it('shows the lag of a stopped sink per partition, and zero after it restarts', async () => {
    source = await startSource({ dc: SRC, cluster: 'a' });
    sink = await startSink({ dc: DST, cluster: 'b', peers: [SRC] });
    for (let i = 0; i < 40; i++) await a.set(`st-${run}:warm:${i}`, String(i));
    await waitCaughtUp(source, 'a');
    const atRest = await waitLag((s) => s.totalLag === 0, sink);
    expect(atRest.totalLag).toBe(0);
    expect(atRest.partitions).toHaveLength(PARTITIONS);
    expect(atRest.partitions.every((p) => p.lag === 0 && p.lagExact)).toBe(true);
    expect(atRest.partitions.some((p) => p.applyLatencyAvgMs !== undefined)).toBe(true);

    await sink.kill('SIGKILL');
    const keys = Array.from({ length: 30 }, (_, i) => `st-${run}:late:{${i % 3}}`);
    for (const [i, k] of keys.entries()) await a.set(k, String(i));
    await waitCaughtUp(source, 'a');
    const expected = new Map<number, number>();
    for (const k of keys) {
      const p = slotPartition(keySlot(k), PARTITIONS);
      expected.set(p, (expected.get(p) ?? 0) + 1);
    }
    const stopped = sinkStatus();
    // Records carry runs of events: the lag is counted in both. Cluster a is shared with the other
    // tests: a key of theirs expiring meanwhile is an event too, so each partition holds at least ours.
    const lagEvents = new Map(stopped.partitions.map((p) => [p.partition, p.lagEvents ?? 0]));
    for (const [partition, n] of expected) expect(lagEvents.get(partition)).toBeGreaterThanOrEqual(n);
    expect(stopped.partitions.every((p) => p.lagExact && p.lag <= (p.lagEvents ?? -1))).toBe(true);
    expect(stopped.totalLag).toBeGreaterThanOrEqual(expected.size);
    const totalEvents = [...lagEvents.values()].reduce((x, y) => x + y, 0);
    expect(totalEvents).toBeGreaterThanOrEqual(30);

    const human = cli('status', '--dc', DST, '--brokers', brokers(), '--peers', SRC);
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/topic\s+partition\s+committed\s+log end\s+lag records\s+lag events\s+apply latency/);
    const total = /total lag (\d+) records?, (\d+) events/.exec(human.stdout);
    expect(total).not.toBeNull();
    expect(Number(total![1])).toBeGreaterThanOrEqual(stopped.totalLag);
    expect(Number(total![2])).toBeGreaterThanOrEqual(totalEvents);

    sink = await sink.restart();
    const after = await waitLag((s) => s.totalLag === 0, sink);
    expect(after.totalLag).toBe(0);
    expect(after.partitions.every((p) => p.lag === 0)).toBe(true);
  });

  it("shows the source's links: replid, checkpoint, the master's offset and the last full resync", async () => {
    expect(source).toBeDefined();
    await waitCaughtUp(source!, 'a');
    await sleep(1500); // a checkpoint is committed a few times per second
    const r = cli('status', '--dc', SRC, '--brokers', brokers(), '--redis', redisA(), '--source-metrics', `127.0.0.1:${source!.httpPort}`, '--peers', DST, '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stdout) as Status;
    const live = s.links.filter((l) => l.master && l.replid);
    expect(live).toHaveLength(testEndpoints().redisA.length >= 3 ? 3 : live.length);
    for (const l of live) {
      expect(l.live?.state).toBe('streaming');
      expect(l.lastFullResync?.reason).toBe('no-checkpoint');
      expect(l.master!.gap).toBeGreaterThanOrEqual(0);
      expect(l.master!.gap).toBeLessThan(10_000); // at most the pings since the last commit
    }
    const human = cli('status', '--dc', SRC, '--brokers', brokers(), '--redis', redisA(), '--peers', DST);
    expect(human.stdout).toMatch(/master\s+state\s+replid\s+checkpoint\s+master offset\s+gap bytes/);
    expect(human.stdout).toMatch(/no-checkpoint/);
  });

  it('gives one clear line for an unreachable broker and for a DC without topics', () => {
    const down = cli('status', '--dc', DST, '--brokers', '127.0.0.1:1');
    expect(down.status).toBe(1);
    expect(down.stderr).toBe('tandem: cannot reach Kafka at 127.0.0.1:1: Connection error: connect ECONNREFUSED 127.0.0.1:1\n');
    const none = cli('status', '--dc', `nope-${run}`, '--brokers', brokers());
    expect(none.status).toBe(1);
    expect(none.stderr).toBe(`tandem: no topics for DC nope-${run}: tandem.nope-${run}.checkpoints does not exist (create them with \`tandem topics init --dc nope-${run}\`)\n`);
    const missingPeer = cli('status', '--dc', DST, '--brokers', brokers(), '--peers', `gone-${run}`);
    expect(missingPeer.status).toBe(1);
    expect(missingPeer.stderr).toBe(`tandem: topic tandem.gone-${run}.changes (peer gone-${run}) does not exist\n`);
    const bad = cli('status', '--dc', DST, '--brokers', brokers(), '--redis', 'redis://u:pw@nohost:x');
    expect(bad.status).toBe(2);
    expect(bad.stderr).not.toMatch(/pw@|\n\s+at /);
  });
});
