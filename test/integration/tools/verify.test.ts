import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis, { type Cluster } from 'ioredis';
import { clusterClient, testEndpoints } from '../../harness/endpoints';
import { startRedis, type StandaloneRedis } from '../../harness/redis-standalone';
import { CLI } from '../../harness/source-process';

/**
 * `tandem verify` end to end: the built CLI against the two real clusters of
 * the test stack, with data written into both directly. Each test uses its own
 * key prefix, so they never see each other's keys.
 */
const run = Date.now().toString(36);
const url = (which: 'a' | 'b') => `redis://${(which === 'a' ? testEndpoints().redisA : testEndpoints().redisB).map((s) => `${s.host}:${s.port}`).join(',')}`;
const cli = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
const verify = (prefix: string, ...args: string[]) => cli('verify', '--a', url('a'), '--b', url('b'), '--match', `${prefix}*`, ...args);
const tmp = () => mkdtempSync(join(tmpdir(), 'tandem-verify-'));

interface Report {
  ok: boolean;
  scanned: { a: number; b: number };
  compared: number;
  rounds: { round: number; checked: number; differing: number }[];
  byKind: Record<string, number>;
  diffs: { key: string; kind: string; detail: string }[];
}

let a: Cluster;
let b: Cluster;

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  a = clusterClient('a');
  b = clusterClient('b');
});

afterAll(() => {
  a.disconnect();
  b.disconnect();
});

/** The same data of every type on both sides; sets and hashes inserted in different orders. */
async function writeBoth(prefix: string, n = 40): Promise<void> {
  for (const c of [a, b]) {
    const reversed = c === b;
    for (let i = 0; i < n; i++) await c.set(`${prefix}s:${i}`, `v${i}`);
    await c.set(`${prefix}ttl`, 'x', 'PX', 600_000);
    await c.rpush(`${prefix}list`, 'x', 'y', 'z');
    const members = Array.from({ length: 300 }, (_, i) => `m${i}`); // past the listpack limit: a hashtable
    await c.sadd(`${prefix}set`, ...(reversed ? [...members].reverse() : members));
    for (const m of reversed ? [...members].reverse() : members) await c.hset(`${prefix}hash`, m, m.toUpperCase());
    await c.zadd(`${prefix}zset`, 1, 'one', 2, 'two');
    await c.xadd(`${prefix}stream`, '1-1', 'f', 'v');
  }
}

describe('tandem verify', () => {
  it('reports zero differences on converged clusters and exits 0', async () => {
    const prefix = `vf-${run}-same:`;
    await writeBoth(prefix);
    const r = verify(prefix, '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report).toMatchObject({ ok: true, scanned: { a: 46, b: 46 }, compared: 46, diffs: [] });
    expect(report.rounds).toHaveLength(1);
    const human = verify(prefix);
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/scanned: 46 keys in a, 46 in b; 46 compared; 1 round/);
    expect(human.stdout).toMatch(/no differences/);
    for (const mode of ['length', 'exists']) expect(verify(prefix, '--mode', mode).status).toBe(0);
  });

  it('reports each of the five kinds of difference, in the report file too, and exits 1', async () => {
    const prefix = `vf-${run}-diff:`;
    await writeBoth(prefix, 5);
    await b.set(`${prefix}only-b`, '1');
    await a.set(`${prefix}only-a`, '1');
    await a.del(`${prefix}list`);
    await a.set(`${prefix}list`, 'not a list');
    await b.sadd(`${prefix}set`, 'extra');
    await b.pexpire(`${prefix}ttl`, 60_000); // a: 600 s
    const dir = tmp();
    const report = join(dir, 'diffs.json');
    const r = verify(prefix, '--rounds', '2', '--pause', '200ms', '--report', report);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/round 2: 5 keys checked, 5 differ/);
    expect(r.stdout).toMatch(/DIFFERENT: 5 keys still differ after 2 rounds: missing-in-a 1, missing-in-b 1, type 1, value 1, ttl 1/);
    const written = JSON.parse(readFileSync(report, 'utf8')) as Report;
    const kinds = Object.fromEntries(written.diffs.map((d) => [d.key, d.kind]));
    expect(kinds).toEqual({
      [`${prefix}only-b`]: 'missing-in-a',
      [`${prefix}only-a`]: 'missing-in-b',
      [`${prefix}list`]: 'type',
      [`${prefix}set`]: 'value',
      [`${prefix}ttl`]: 'ttl',
    });
    expect(written.byKind).toEqual({ 'missing-in-a': 1, 'missing-in-b': 1, type: 1, value: 1, ttl: 1 });
    expect(written.diffs.find((d) => d.kind === 'type')?.detail).toBe('string in a, list in b');

    const json = JSON.parse(verify(prefix, '--rounds', '1', '--json').stdout) as Report;
    expect(json.ok).toBe(false);
    expect(json.diffs.map((d) => d.kind).sort()).toEqual(['missing-in-a', 'missing-in-b', 'ttl', 'type', 'value']);
    // mode length sees the set's extra member but not the TTL; mode exists only presence and type.
    expect(JSON.parse(verify(prefix, '--rounds', '1', '--mode', 'length', '--json').stdout).byKind).toEqual({ 'missing-in-a': 1, 'missing-in-b': 1, type: 1, value: 1, ttl: 0 });
    expect(JSON.parse(verify(prefix, '--rounds', '1', '--mode', 'exists', '--json').stdout).byKind).toEqual({ 'missing-in-a': 1, 'missing-in-b': 1, type: 1, value: 0, ttl: 0 });
  });

  it('does not report a key that converges between rounds', async () => {
    const prefix = `vf-${run}-flap:`;
    await writeBoth(prefix, 3);
    await a.set(`${prefix}late`, 'new');
    await b.set(`${prefix}late`, 'old'); // as if the replication of 'new' were still in flight
    const dir = tmp();
    const report = join(dir, 'flap.json');
    const child = spawn(process.execPath, [CLI, 'verify', '--a', url('a'), '--b', url('b'), '--match', `${prefix}*`, '--rounds', '3', '--pause', '3s', '--report', report]);
    let stdout = '';
    let fixed = false;
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!fixed && /round 1: .* 1 differ/.test(stdout)) {
        fixed = true;
        void b.set(`${prefix}late`, 'new');
      }
    });
    expect(await exited).toBe(0);
    expect(fixed).toBe(true);
    expect(stdout).toMatch(/round 2: 1 key checked, 0 differ/);
    const written = JSON.parse(readFileSync(report, 'utf8')) as Report;
    expect(written).toMatchObject({ ok: true, diffs: [] });
    expect(written.rounds.map((r) => r.differing)).toEqual([1, 0]);
  });

  it('leaves the __tandem: marker keys out unless asked', async () => {
    const prefix = `__tandem:{${run}}:o:`;
    await a.set(`${prefix}vf`, '3:42');
    const r = verify(prefix, '--json');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).scanned).toEqual({ a: 0, b: 0 });
    const incl = verify(prefix, '--json', '--include-markers', '--rounds', '1');
    expect(incl.status).toBe(1);
    expect(JSON.parse(incl.stdout).diffs).toEqual([{ key: `${prefix}vf`, kind: 'missing-in-b', detail: 'string key exists only in a' }]);
  });

  it('gives one clear line and the right exit code for bad input', () => {
    const bad = cli('verify', '--a', url('a'), '--b', url('b'), '--qps', '-5');
    expect(bad.status).toBe(2);
    expect(bad.stderr.split('\n')[0]).toMatch(/--qps must be an integer from 1/);
    const unreachable = cli('verify', '--a', 'redis://u:hunter2@127.0.0.1:1', '--b', url('b'));
    expect(unreachable.status).toBe(1);
    expect(unreachable.stderr).toBe('tandem: cannot connect to a (redis://u:***@127.0.0.1:1): connect ECONNREFUSED 127.0.0.1:1\n');
    const verbose = cli('--verbose', 'verify', '--a', 'redis://127.0.0.1:1', '--b', url('b'));
    expect(verbose.status).toBe(1);
    expect(verbose.stderr).toMatch(/\n\s+at /);
  });
});

describe('tandem verify on standalone servers with a password', () => {
  const base = 19590 + Number(process.env.TANDEM_TEST_PORT_OFFSET ?? 0) % 1000;
  let servers: StandaloneRedis[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  it('detects the single-node mode and takes the password from the environment', async () => {
    servers = await Promise.all([startRedis({ port: base, args: ['--requirepass', 's3cret'] }), startRedis({ port: base + 1, args: ['--requirepass', 's3cret'] })]);
    const clients = servers.map((s) => new Redis({ port: s.port, password: 's3cret' }));
    try {
      for (const c of clients) await c.hset('h', 'f', 'v');
      const args = ['verify', '--a', `redis://:s3cret@127.0.0.1:${base}`, '--b', `redis://127.0.0.1:${base + 1}`, '--b-password-env', 'VERIFY_TEST_PW'];
      const env = { ...process.env, VERIFY_TEST_PW: 's3cret' };
      const same = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env });
      expect(same.status).toBe(0);
      expect(same.stdout).toMatch(/a: redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ \(standalone\)/);
      await clients[1].hset('h', 'f', 'changed');
      const differ = spawnSync(process.execPath, [CLI, ...args, '--rounds', '1', '--json'], { encoding: 'utf8', env });
      expect(differ.status).toBe(1);
      expect(differ.stdout).not.toMatch(/s3cret/);
      expect(JSON.parse(differ.stdout).diffs).toEqual([{ key: 'h', kind: 'value', detail: 'hash values differ' }]);
    } finally {
      for (const c of clients) c.disconnect();
    }
  });
});
