import type { Cluster } from 'ioredis';
import type Redis from 'ioredis';
import { runCli } from '../../harness/cli-run';
import { compareClusters, scanKeys } from '../../harness/cluster-compare';
import { clusterClient, testEndpoints } from '../../harness/endpoints';
import { startBothWays, type SinkProcess } from '../../harness/sink-process';
import { readEvents, sleep, waitCaughtUp, type SourceProcess } from '../../harness/source-process';
import { mixedWorkload } from '../../harness/workload';

/**
 * `tandem replay` end to end, with the two-DC pipeline running (sources rpa
 * on a and rpb on b, sinks both ways). Writes are made in a in three phases
 * (P1, then P2 between T1 and T2, then P3). Cluster b is wiped (FLUSHALL: an
 * audit-only event the sink of a does not apply). Then:
 *
 * - a time-bounded replay --from T1 --to T2 rebuilds only the P2 keys;
 * - a dry run from earliest counts exactly what the real run then applies;
 * - the real run rebuilds every key made in a: a and b compare equal, and
 *   nothing echoes back to a (a still equals b after a while).
 */
const A = 'rpa';
const B = 'rpb';

type Summary = { applied: number; rejected: number; selected: { events: number; commands: number; byOrigin: Record<string, number> }; partitionsRead: number[]; skipped: Record<string, number> };

describe('tandem replay', () => {
  const procs: (SourceProcess | SinkProcess)[] = [];
  let ca: Cluster;
  let cb: Cluster;
  const run = `${Date.now()}`;
  const p1 = `rp-${run}-1`;
  const p2 = `rp-${run}-2`;
  const p3 = `rp-${run}-3`;
  let t1 = '';
  let t2 = '';
  const target = () => {
    const n = testEndpoints().redisB[0];
    return `redis://${n.host}:${n.port}`;
  };
  const brokers = () => testEndpoints().kafkaBrokers.join(',');
  const replay = async (...args: string[]) => {
    const r = await runCli(['replay', '--dc', A, '--json', '--brokers', brokers(), ...args], { timeoutMs: 240_000 });
    if (r.status !== 0) throw new Error(`replay ${args.join(' ')} exited ${r.status}\n${r.stderr.slice(-3000)}\n${r.stdout.slice(-2000)}`);
    return { summary: JSON.parse(r.stdout) as Summary, stderr: r.stderr };
  };

  beforeAll(async () => {
    await startBothWays(A, B, procs);
    ca = clusterClient('a');
    cb = clusterClient('b');

    const w = await mixedWorkload(ca, p1, 3000);
    expect(w.errors).toEqual([]);
    // Keys that expired during the workload are deleted, and their DELs propagated, only when
    // the active expiry cycle finds them, which under load can fall inside the window below.
    // SCAN expires every key it meets, so all of phase 1's DELs happen now, before t1.
    await sleep(100);
    await scanKeys(ca, `${p1}:*`);
    // The window is about capture time (when the source read the write), so let
    // the source catch up before each bound is taken.
    await waitCaughtUp(procs[0], 'a');
    t1 = new Date().toISOString();
    await sleep(20);
    for (let i = 0; i < 300; i++) await ca.set(`${p2}:${i}`, `v${i}`);
    await waitCaughtUp(procs[0], 'a');
    t2 = new Date().toISOString();
    await sleep(20);
    for (let i = 0; i < 100; i++) await ca.set(`${p3}:${i}`, `w${i}`);
    await waitCaughtUp(procs[0], 'a');
    // The pipeline itself converges first (b holds what a holds).
    const deadline = Date.now() + 30_000;
    for (;;) {
      const diffs = [...(await compareClusters(ca, cb, `${p1}:*`)).diffs, ...(await compareClusters(ca, cb, `${p3}:*`)).diffs];
      if (diffs.length === 0) break;
      if (Date.now() > deadline) throw new Error(`the pipeline did not converge: ${diffs.slice(0, 5).join('; ')}`);
      await sleep(500);
    }
    // Wipe b.
    await Promise.all(cb.nodes('master').map((n: Redis) => n.flushall()));
    expect(await scanKeys(cb, `rp-${run}-*`)).toHaveLength(0);
  });

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGTERM')));
    ca?.disconnect();
    cb?.disconnect();
  });

  test('a time-bounded replay (--from T1 --to T2) applies only the events captured in that window', async () => {
    // What the topic holds for that window, judged from the decoded events themselves.
    const inWindow = (await readEvents(A)).filter(
      (e) => e.origin === A && (e.kind === 'command' || e.kind === 'transaction' || e.kind === 'snapshot') && e.capturedAt >= Date.parse(t1) && e.capturedAt < Date.parse(t2),
    );
    expect(inWindow).toHaveLength(300);
    const dry = await replay('--from', t1, '--to', t2, '--dry-run');
    const real = await replay('--from', t1, '--to', t2, '--target', target());
    if (dry.summary.applied !== 300) throw new Error(`dry run of [${t1}, ${t2}): ${JSON.stringify(dry.summary)}`);
    expect(real.summary.rejected).toBe(0);
    expect(dry.summary.applied).toBe(300);
    expect(real.summary.applied).toBe(300);
    expect(await scanKeys(cb, `${p2}:*`)).toHaveLength(300);
    expect(await scanKeys(cb, `${p1}:*`)).toHaveLength(0);
    expect(await scanKeys(cb, `${p3}:*`)).toHaveLength(0);
    expect(await cb.get(`${p2}:7`)).toBe('v7');
    // Not a TTY: progress is periodic log lines, never a redrawn bar.
    expect(real.stderr).not.toContain('\r');
  });

  test('replay --from earliest rebuilds every key made in a; the dry run counted exactly what was applied; no echo', async () => {
    const dry = await replay('--from', 'earliest', '--dry-run');
    const real = await replay('--from', 'earliest', '--target', target());
    expect(real.summary.rejected).toBe(0);
    expect(real.summary.applied).toBeGreaterThan(1000);
    expect(dry.summary.applied).toBe(real.summary.applied);
    expect(dry.summary.selected).toEqual(real.summary.selected);
    expect(Object.keys(real.summary.selected.byOrigin)).toEqual([A]);

    for (const prefix of [p1, p2, p3]) {
      const r = await compareClusters(ca, cb, `${prefix}:*`);
      expect(r.diffs).toEqual([]);
      expect(r.keys).toBeGreaterThan(0);
    }
    // The replayed writes carry the marker of origin rpa: source(rpb) tags them so,
    // and sink(rpa) drops them. After a while a still equals b (an echo would re-apply INCR/RPUSH in a).
    await sleep(3000);
    const again = await compareClusters(ca, cb, `${p1}:*`);
    expect(again.diffs).toEqual([]);
  });

  test('--key with a literal key reads only its partition; --out writes RESP for redis-cli --pipe', async () => {
    // Commands are replayed as recorded: ioredis sends lower-case names and Redis propagates them so.
    const key = `${p2}:42`;
    const dry = await replay('--from', 'earliest', '--key', key, '--dry-run');
    expect(dry.summary.applied).toBe(1);
    expect(dry.summary.partitionsRead).toHaveLength(1);
    const r = await runCli(['replay', '--dc', A, '--from', 'earliest', '--key', key, '--out', '-', '--progress', 'none', '--brokers', brokers()]);
    expect(r.status).toBe(0);
    const resp = `*3\r\n$3\r\nset\r\n$${key.length}\r\n${key}\r\n$3\r\nv42\r\n`;
    expect(r.stdout.startsWith(resp)).toBe(true);
  });

  test('bad input gives one line and exit 2 (usage) or 1 (unreachable)', async () => {
    const bad = await runCli(['replay', '--dc', A, '--from', 'sometime', '--dry-run', '--brokers', brokers()]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--from.*sometime/);
    const none = await runCli(['replay', '--dc', A, '--from', 'earliest', '--brokers', brokers()]);
    expect(none.status).toBe(2);
    expect(none.stderr.trim()).toBe('tandem: give exactly one of --dry-run, --out FILE or --target URL');
    const down = await runCli(['replay', '--dc', A, '--from', 'earliest', '--dry-run', '--brokers', '127.0.0.1:1']);
    expect(down.status).toBe(1);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    expect(down.stderr).not.toMatch(/\n\s+at /);
  });
});
