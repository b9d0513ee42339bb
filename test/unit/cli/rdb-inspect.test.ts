import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE_DIR, loadFixture } from '../rdb/fixture-helpers';

/*
 * `tandem rdb inspect` as a user runs it: the BUILT CLI (dist/), as a child
 * process, on a real fixture and on damaged copies of it. `npm test` builds
 * dist before the unit tests.
 */

const ROOT = join(__dirname, '../../..');
const CLI = join(ROOT, 'dist/services/bin/tandem.js');
const FIXTURE = join(FIXTURE_DIR, 'redis-7.2.6', 'cluster.rdb');

function tandem(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (\`npm test\` builds it before the unit tests)`);
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 << 20, timeout: 60_000 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('tandem rdb inspect (built CLI)', () => {
  const { rdb, expected } = loadFixture('redis-7.2.6', 'cluster');
  const want = expected.dbs['0'];
  let dir: string;

  beforeAll(() => {
    const help = tandem('rdb', '--help');
    if (!/\binspect\b/.test(help.stdout)) {
      throw new Error(`the built CLI has no \`rdb inspect\` (dist is stale?): run \`npm run build\` first.\n${help.stdout}${help.stderr}`);
    }
    dir = mkdtempSync(join(tmpdir(), 'tandem-rdb-inspect-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints one JSON line per key with the DUMP payload, a summary last on stderr, and exits 0', () => {
    const r = tandem('rdb', 'inspect', FIXTURE);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(Object.keys(want).length);
    const seen = new Set<string>();
    for (const text of lines) {
      const line = JSON.parse(text) as Record<string, unknown>;
      const name = Buffer.from(line.key as string, 'base64').toString('utf8');
      const w = want[name];
      expect({ name, known: w !== undefined }).toEqual({ name, known: true });
      expect(line).toEqual({ db: 0, key: line.key, type: w.type, expireAt: w.pexpiretime, payload: w.dump, value: w.value });
      seen.add(name);
    }
    expect(seen.size).toBe(lines.length);
    const errLines = r.stderr.trimEnd().split('\n');
    const summary = JSON.parse(errLines[errLines.length - 1]) as Record<string, unknown>;
    expect(summary).toMatchObject({ summary: true, rdbVersion: 11, bytes: rdb.length, keys: lines.length, dbs: [0], functions: 1 });
  });

  it('exits 1 with one line naming the byte offset when a byte in the middle is flipped', () => {
    // Byte 39936 is the type byte of db0:zset:big (RDB_TYPE_ZSET_2 = 5). Flipping its top bit
    // makes 0x85: no type or opcode. (A flip inside a string body is only caught by the
    // file CRC at the end, which names the checksum's offset instead.)
    const at = 39936;
    expect(rdb[at]).toBe(5);
    const bad = Buffer.from(rdb);
    bad[at] ^= 0x80;
    const file = join(dir, 'flipped.rdb');
    writeFileSync(file, bad);
    const r = tandem('rdb', 'inspect', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`tandem: RDB corrupt at byte ${at}: expected an opcode or a value type, got 0x85\n`);
    // Keys before the damage were already streamed out, each intact.
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { key: string; payload: string });
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l.payload).toBe(want[Buffer.from(l.key, 'base64').toString('utf8')].dump);
  });

  it('exits 1 with one line naming the byte offset when the file is cut at half its size', () => {
    const half = Math.floor(rdb.length / 2);
    const file = join(dir, 'truncated.rdb');
    writeFileSync(file, rdb.subarray(0, half));
    const r = tandem('rdb', 'inspect', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^tandem: RDB truncated at byte ${half} while reading [^\\n]+\\n$`));
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 1 with one line for a file that does not exist', () => {
    const r = tandem('rdb', 'inspect', join(dir, 'missing.rdb'));
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(/^tandem: .*missing\.rdb/);
  });
});
