import type { Cluster } from 'ioredis';
import { writeTargets } from '../../../services/sink/conflicts/write-class';
import { runCli } from '../../harness/cli-run';
import { clusterClient, testEndpoints } from '../../harness/endpoints';
import type { SinkProcess } from '../../harness/sink-process';
import { readEvents, sleep, type SourceProcess } from '../../harness/source-process';
import { metricSum, startStampedBothWays, waitUntil } from '../../harness/topology-assert';

/**
 * Issue 13, acceptance of `sink.conflicts: lww` on the real pipeline: DC x
 * on cluster a, DC y on cluster b, both ways. A random load of SET, DEL and
 * HSET over a small shared key space (150 string keys, 50 hashes of 3
 * fields) runs in both DCs at once, each write with a value no other write
 * has; each sink is SIGKILLed and restarted during it. At the end:
 * - `tandem verify` finds the two clusters identical;
 * - every key (and hash field) holds its latest overwrite by capture time,
 *   ties broken by the greater DC name. The test takes each write's capture
 *   time from its event in its DC's changes topic (only what the DC's clients
 *   wrote: origin = source), so the expectation is the very order the sinks
 *   judge by; a write Redis did not propagate (DEL of a missing key) is no
 *   write there either.
 */
const SINK_LINES = ['conflicts: lww'];
const STRING_KEYS = 150;
const HASHES = 50;
const FIELDS = ['f0', 'f1', 'f2'];



/** xorshift: the same load for a given seed */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

type State = Map<string, string | null>; // string key -> value; hash key + '\n' + field -> value

async function snapshot(c: Cluster, run: string): Promise<State> {
  const out: State = new Map();
  await Promise.all(Array.from({ length: STRING_KEYS }, async (_, i) => {
    const k = `lww:${run}:s:${i}`;
    out.set(k, await c.get(k));
  }));
  await Promise.all(Array.from({ length: HASHES }, async (_, i) => {
    const k = `lww:${run}:h:${i}`;
    const h = await c.hgetall(k);
    for (const f of FIELDS) out.set(`${k}\n${f}`, h[f] ?? null);
  }));
  return out;
}

function differences(a: State, b: State): string[] {
  const out: string[] = [];
  for (const [k, v] of a) if (b.get(k) !== v) out.push(`${k.replace('\n', '.')}: ${String(v)} vs ${String(b.get(k))}`);
  return out;
}

/** One DC's client until told to stop: random SET/DEL of string keys and HSET of hash fields, paced so that both DCs write at once. Returns its writes. */
async function load(c: Cluster, dc: string, run: string, seed: number, until: { stop: boolean }): Promise<number> {
  const r = rng(seed);
  let n = 0;
  for (; !until.stop; n++) {
    const value = `${dc}-${n}`;
    const p = r();
    if (p < 0.6) {
      const k = `lww:${run}:s:${Math.floor(r() * STRING_KEYS)}`;
      if (p < 0.45) await c.set(k, value);
      else await c.del(k);
    } else {
      await c.hset(`lww:${run}:h:${Math.floor(r() * HASHES)}`, FIELDS[Math.floor(r() * FIELDS.length)], value);
    }
    if (n % 5 === 0) await sleep(1 + Math.floor(r() * 6));
  }
  return n;
}

/**
 * The expected end state: per target, the last overwrite by (capture time,
 * DC name), and within one DC by its own order. Read from the changes
 * topics: the local writes of each DC (origin = source: not the writes its
 * sink applied, nor its repairs, which carry the peer's origin).
 */
async function expected(run: string, dcs: string[]): Promise<State> {
  const last = new Map<string, { at: number; dc: string; seq: number; value: string | null }>();
  const prefix = `lww:${run}:`;
  let seq = 0;
  for (const dc of dcs) {
    for (const e of await readEvents(dc)) {
      if (e.origin !== dc || e.source !== dc || (e.kind !== 'command' && e.kind !== 'transaction')) continue;
      for (const argv of e.commands) {
        for (const t of writeTargets(argv)) {
          const key = t.key.toString();
          if (!key.startsWith(prefix)) continue;
          const name = argv[0].toString().toLowerCase();
          const id = t.field === undefined ? key : `${key}\n${t.field.toString()}`;
          let value: string | null;
          if (name === 'set') value = argv[2].toString();
          else if (name === 'del' || name === 'unlink') value = null;
          else if (name === 'hset') value = argv[argv.findIndex((a, i) => i >= 2 && i % 2 === 0 && a.equals(t.field!)) + 1].toString();
          else throw new Error(`unexpected write in the topic: ${argv.map(String).join(' ')}`);
          const w = { at: e.capturedAt, dc, seq: seq++, value };
          const prev = last.get(id);
          if (prev === undefined || w.at > prev.at || (w.at === prev.at && (w.dc > prev.dc || (w.dc === prev.dc && w.seq > prev.seq)))) last.set(id, w);
        }
      }
    }
  }
  const out: State = new Map();
  for (let i = 0; i < STRING_KEYS; i++) out.set(`${prefix}s:${i}`, last.get(`${prefix}s:${i}`)?.value ?? null);
  for (let i = 0; i < HASHES; i++) for (const f of FIELDS) out.set(`${prefix}h:${i}\n${f}`, last.get(`${prefix}h:${i}\n${f}`)?.value ?? null);
  return out;
}

describe('sink: last write wins (sink.conflicts: lww)', () => {
  let ca: Cluster;
  let cb: Cluster;
  const procs: (SourceProcess | SinkProcess)[] = [];
  beforeAll(() => {
    ca = clusterClient('a', { autoPipelining: true });
    cb = clusterClient('b', { autoPipelining: true });
  });
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    ca?.disconnect();
    cb?.disconnect();
  });

  test('random SET/DEL/HSET in both DCs at once, sinks SIGKILLed during it: identical clusters, each key at its latest overwrite by capture time', async () => {
    const run = Date.now().toString(36);
    const [x, y] = [`lwx${run}`, `lwy${run}`];
    let { kx, ky } = await startStampedBothWays(x, y, procs, SINK_LINES);

    const until = { stop: false };
    const loads = Promise.all([load(ca, 'x', run, 1, until), load(cb, 'y', run, 2, until)]);
    // Each sink SIGKILLed once during the load, and restarted a second later.
    await sleep(3000);
    await kx.kill('SIGKILL');
    await sleep(1000);
    kx = await kx.restart();
    procs.push(kx);
    await sleep(3000);
    await ky.kill('SIGKILL');
    await sleep(1000);
    ky = await ky.restart();
    procs.push(ky);
    await sleep(4000); // both restarted sinks apply under load too
    until.stop = true;
    const writes = await loads;

    const logs = () => `${kx.log().slice(-3000)}\n${ky.log().slice(-3000)}`;
    let diff: string[] = [];
    await waitUntil('both clusters equal', async () => {
      diff = differences(await snapshot(ca, run), await snapshot(cb, run));
      return diff.length === 0;
    }, 90_000, 500, () => `${diff.length} differ, e.g. ${diff.slice(0, 10).join('; ')}\n${logs()}`);
    await sleep(3000); // any repair still on its way would show now
    const [va, vb] = [await snapshot(ca, run), await snapshot(cb, run)];
    expect(differences(va, vb)).toEqual([]);

    const url = (w: 'a' | 'b') => `redis://${(w === 'a' ? testEndpoints().redisA : testEndpoints().redisB).map((s) => `${s.host}:${s.port}`).join(',')}`;
    const verify = await runCli(['verify', '--a', url('a'), '--b', url('b'), '--match', `lww:${run}:*`, '--json']);
    expect(verify.stderr).toBe('');
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true, diffs: [] });
    expect(verify.status).toBe(0);

    const want = await expected(run, [x, y]);
    const wrong = differences(want, va);
    const outcomes: Record<string, number> = {};
    for (const [k, peer] of [[kx, y], [ky, x]] as const) {
      for (const result of ['repaired', 'peer-won', 'same-value', 'superseded', 'redone', 'unsupported', 'too-large', 'uncertain', 'failed']) {
        outcomes[`${peer}:${result}`] = await metricSum(k, 'tandem_sink_conflict_repairs_total', { result });
      }
    }
    const conflicts = [await metricSum(kx, 'tandem_sink_conflicts_total'), await metricSum(ky, 'tandem_sink_conflicts_total')];
    process.stdout.write(`lww: ${writes.join('+')} writes, conflicts since the restarts x,y = ${conflicts.join(',')}, repairs ${JSON.stringify(outcomes)}\n`);
    expect([wrong.length, wrong.slice(0, 10), outcomes]).toEqual([0, [], outcomes]);
    // The load made real conflicts in both DCs after their sinks' restarts, and each sink repaired some (counts since its restart).
    expect(conflicts.every((n) => n > 0)).toBe(true);
    expect(outcomes[`${y}:repaired`]).toBeGreaterThan(0);
    expect(outcomes[`${x}:repaired`]).toBeGreaterThan(0);
    for (const result of ['unsupported', 'too-large', 'failed']) expect([result, outcomes[`${x}:${result}`] + outcomes[`${y}:${result}`]]).toEqual([result, 0]);
  });
});
