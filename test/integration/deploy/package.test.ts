import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The npm package, as a user gets it: `npm pack` of the built checkout, then
 * `npm install --omit=dev` of that tarball into an empty project. The `tandem`
 * bin must run from there with the production dependencies alone, and the
 * tarball must hold what runs, not the tests or benchmarks. (The image's
 * runtime stage ships the same set: test/unit/deploy/dockerfile.test.ts.)
 * Needs the npm registry (or a warm npm cache), not Kafka or Redis.
 */
const root = join(__dirname, '../../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: { tandem: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const COMMANDS = ['source', 'sink', 'topics', 'replay', 'audit', 'verify', 'status'];

// The parent npm (under `npm test`) describes its own package and prefix in
// npm_* variables; the child npm must not inherit those, only how to reach a registry.
const KEEP = /^npm_config_(registry|cache|userconfig|globalconfig|proxy|https_proxy|noproxy|strict_ssl|cafile|fetch_\w+|prefer_offline|offline)$/i;
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || KEEP.test(k)));

function run(cmd: string, args: string[], cwd: string, timeout = 150_000): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  return r;
}
function ok(cmd: string, args: string[], cwd: string): string {
  const r = run(cmd, args, cwd);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

describe('the npm package', () => {
  let tmp: string;
  let app: string;
  let packed: string[];

  beforeAll(() => {
    if (!existsSync(join(root, pkg.bin.tandem))) {
      throw new Error(`${pkg.bin.tandem} is missing: run \`npm run build\` before this test (npm test does)`);
    }
    tmp = mkdtempSync(join(tmpdir(), 'tandem-package-'));
    const [info] = JSON.parse(ok('npm', ['pack', '--json', '--pack-destination', tmp], root)) as { filename: string; files: { path: string }[] }[];
    packed = info.files.map((f) => f.path);
    app = join(tmp, 'app');
    mkdirSync(app);
    ok('npm', ['init', '-y'], app);
    ok('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', join(tmp, info.filename)], app);
  }, 180_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  test('the tarball holds the CLI, the schemas and package.json, and no tests, benchmarks or TypeScript sources', () => {
    expect(packed).toEqual(expect.arrayContaining(['package.json', pkg.bin.tandem, 'schemas/change-event.v1.avsc']));
    const notRuntime = packed.filter((p) => /^(dist\/)?(test|bench)\//.test(p) || /^services\//.test(p) || /\.ts$/.test(p));
    expect(notRuntime).toEqual([]);
  });

  test('installed with --omit=dev, `tandem --help` runs and lists every command', () => {
    const r = run(join(app, 'node_modules', '.bin', 'tandem'), ['--help'], app, 30_000);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const listed = r.stdout.split('\n').map((l) => /^\s{2}([a-z]+)\b/.exec(l)?.[1]).filter(Boolean);
    expect(listed).toEqual(expect.arrayContaining(COMMANDS));
  });

  test('`tandem --version` prints the package version (package.json and schemas/ found beside the code)', () => {
    const r = run(join(app, 'node_modules', '.bin', 'tandem'), ['--version'], app, 30_000);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  test('the kafkajs the installed CLI loads carries patches/ (postinstall, with kafkajs hoisted to the app)', () => {
    const eos = readFileSync(join(app, 'node_modules', 'kafkajs', 'src', 'producer', 'eosManager', 'index.js'), 'utf8');
    expect(eos).toContain('withTransactionCoordinator');
  });

  test('every dependency is installed, and no devDependency', () => {
    const installed = (name: string) => existsSync(join(app, 'node_modules', name, 'package.json'));
    expect(Object.keys(pkg.dependencies).filter((d) => !installed(d))).toEqual([]);
    expect(Object.keys(pkg.devDependencies).filter(installed)).toEqual([]);
  });
});
