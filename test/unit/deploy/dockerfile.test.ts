import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { httpSchema } from '../../../services/shared/config-schema';

/**
 * deploy/Dockerfile builds the Tandem image. No Docker engine runs here, so
 * this reads the file as Docker would (instructions, stages, the context after
 * .dockerignore) and checks what makes the image right: an LTS Node base, a
 * runtime stage with production dependencies only, a non-root user, an
 * entrypoint that is the package's `tandem` bin, and nothing more shipped than
 * the npm package ships.
 */
const root = join(__dirname, '../../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: { tandem: string }; files: string[] };

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  base: string;
  name?: string;
  body: Instruction[];
}

/** Instructions grouped by stage; continuation lines joined, comments dropped. */
function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push(`${pending}${line}`.trim());
    pending = '';
  }
  const stages: Stage[] = [];
  for (const l of logical.filter((x) => x !== '')) {
    const [, op, args] = /^(\S+)\s*(.*)$/.exec(l) ?? [];
    const upper = op.toUpperCase();
    if (upper === 'FROM') {
      const m = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!m) throw new Error(`cannot read FROM ${args}`);
      stages.push({ base: m[1], name: m[2], body: [] });
    } else if (upper !== 'ARG' || stages.length > 0) {
      if (stages.length === 0) throw new Error(`${upper} before the first FROM`);
      stages[stages.length - 1].body.push({ op: upper, args });
    }
  }
  return stages;
}

/** A COPY or ADD: its --from, sources and destination (shell or JSON form). */
function copyOf(args: string): { from?: string; sources: string[]; dest: string } {
  const flags = [...args.matchAll(/--(\w+)=(\S+)\s+/g)];
  const rest = args.replace(/--\w+=\S+\s+/g, '').trim();
  const words = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
  return { from: flags.find((f) => f[1] === 'from')?.[2], sources: words.slice(0, -1), dest: words[words.length - 1] };
}

/** The folder each instruction runs in: WORKDIR applied in order (default /). */
function withWorkdirs(stage: Stage): { ins: Instruction; workdir: string }[] {
  let workdir = '/';
  return stage.body.map((ins) => {
    if (ins.op === 'WORKDIR') workdir = posix.resolve(workdir, ins.args);
    return { ins, workdir };
  });
}

/** .dockerignore as Docker reads it: `*`, `?`, `**`, `!` exceptions, the last match wins, a match on a parent folder excludes its content. */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = posix.normalize(l.replace(/^!/, '')).replace(/^\/+/, '').replace(/\/+$/, '');
      const token: Record<string, string> = { '**/': '(?:.*/)?', '**': '.*', '*': '[^/]*', '?': '[^/]' };
      const re = pattern
        .split(/(\*\*\/?|\*|\?)/)
        .map((part) => token[part] ?? part.replace(/[.+^${}()|[\]\\]/g, '\\$&'))
        .join('');
      return { negate, re: new RegExp(`^${re}$`) };
    });
  return (path: string) => {
    const clean = posix.normalize(path).replace(/^\.?\/+/, '').replace(/\/+$/, '');
    const prefixes = clean.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
    let ignored = false;
    for (const r of rules) if (prefixes.some((p) => r.re.test(p))) ignored = !r.negate;
    return ignored;
  };
}

const dockerfile = readFileSync(join(root, 'deploy/Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const final = stages[stages.length - 1];
const stageNamed = (name: string) => {
  const s = stages.find((x) => x.name === name);
  if (!s) throw new Error(`no stage named ${name}`);
  return s;
};
const runs = (stage: Stage) => stage.body.filter((i) => i.op === 'RUN').map((i) => i.args);
const npmInstalls = (stage: Stage) => runs(stage).flatMap((r) => r.match(/\bnpm\s+(?:ci|install|i|prune)\b[^&;|]*/g) ?? []);
const omitsDev = (cmd: string) => /--omit[= ]dev\b|--production\b|--only[= ]prod/.test(cmd);
const isIgnored = dockerignore(existsSync(join(root, '.dockerignore')) ? readFileSync(join(root, '.dockerignore'), 'utf8') : '');

/**
 * Where a file of the final image comes from, as a path of the repository: the
 * COPY that placed it, mapped back through its stage's WORKDIR (a build stage
 * puts the repository at its WORKDIR). Undefined if no COPY placed it.
 */
function repoPathOf(imagePath: string): string | undefined {
  let found: string | undefined; // the last COPY to a path wins
  for (const { ins, workdir } of withWorkdirs(final)) {
    if (ins.op !== 'COPY') continue;
    const c = copyOf(ins.args);
    if (c.sources.length !== 1) continue;
    // `COPY dir/ dest` puts dir's content at dest; `COPY file dest/` puts file in dest.
    const src = c.sources[0];
    const dest = posix.resolve(workdir, c.dest);
    const placedAt = !src.endsWith('/') && (c.dest.endsWith('/') || c.dest === '.') ? posix.join(dest, posix.basename(src)) : dest;
    if (!(imagePath === placedAt || imagePath.startsWith(`${placedAt}/`))) continue;
    const rest = imagePath.slice(placedAt.length).replace(/^\//, '');
    const srcWorkdir = c.from ? withWorkdirs(stageNamed(c.from)).at(-1)?.workdir ?? '/' : '/';
    found = posix.relative(srcWorkdir, posix.join(posix.resolve(srcWorkdir, src), rest));
  }
  return found;
}

describe('deploy/Dockerfile', () => {
  test('has a build stage and a separate runtime stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(runs(final).join(' ')).not.toMatch(/npm run build|\btsc\b/);
  });

  test('every stage starts from an official Node LTS image with its major pinned (even, still supported)', () => {
    const names = stages.map((s) => s.name);
    for (const { base } of stages) {
      if (names.includes(base)) continue; // FROM an earlier stage
      const m = /^(?:docker\.io\/(?:library\/)?)?node:(\d+)(?:[.-][\w.-]+)?$/.exec(base);
      expect({ base, pinnedNodeMajor: m !== null }).toEqual({ base, pinnedNodeMajor: true });
      const major = Number(m![1]);
      // Even majors become LTS; 20 left maintenance on 2026-04-30.
      expect({ base, even: major % 2 === 0, supported: major >= 22 }).toEqual({ base, even: true, supported: true });
    }
  });

  test('the runtime stage runs as a non-root user, by number', () => {
    const user = final.body.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    const [uid] = user!.split(':');
    expect(uid).toMatch(/^\d+$/);
    expect(['0', 'root']).not.toContain(uid);
  });

  test("the entrypoint is the package's tandem bin, made executable, behind tini as PID 1", () => {
    const entry = final.body.filter((i) => i.op === 'ENTRYPOINT').at(-1)?.args;
    expect(entry).toBeDefined();
    const argv = JSON.parse(entry!) as string[]; // exec form: signals reach the process, no shell in between
    expect(argv[0]).toMatch(/(^|\/)tini$/);
    expect(runs(final).join(' ')).toMatch(/apt-get install [^&]*\btini\b/);
    expect(argv).toContain('tandem');
    // `tandem` on the PATH: a symlink to a file that a COPY placed, which is the package's bin.
    const link = runs(final).map((r) => /\bln -s(?:f)? (\S+) \/usr\/local\/bin\/tandem\b/.exec(r)).find(Boolean);
    expect(link).toBeTruthy();
    expect(repoPathOf(link![1])).toBe(posix.normalize(pkg.bin.tandem));
    // tsc writes 0644; a symlink to a file without its execute bit cannot be exec'd.
    expect(stages.some((s) => runs(s).some((r) => r.includes('chmod') && r.includes(posix.normalize(pkg.bin.tandem))))).toBe(true);
  });

  test('the runtime stage gets production dependencies only: no dev install there, and node_modules copied only from a stage whose last install omits dev', () => {
    for (const cmd of npmInstalls(final)) expect({ cmd, omitsDev: omitsDev(cmd) }).toEqual({ cmd, omitsDev: true });
    const nodeModulesCopies = final.body
      .filter((i) => i.op === 'COPY')
      .map((i) => copyOf(i.args))
      .filter((c) => c.sources.some((s) => s.includes('node_modules')));
    expect(nodeModulesCopies.length + npmInstalls(final).length).toBeGreaterThan(0);
    for (const c of nodeModulesCopies) {
      expect(c.from).toBeDefined(); // never the host's node_modules
      const last = npmInstalls(stageNamed(c.from!)).at(-1) ?? '';
      expect({ from: c.from, last, omitsDev: omitsDev(last) }).toEqual({ from: c.from, last, omitsDev: true });
    }
  });

  test('the runtime stage ships no more than the npm package does (package.json `files`), plus package.json and node_modules', () => {
    const shipped = final.body
      .filter((i) => i.op === 'COPY' || i.op === 'ADD')
      .flatMap(({ args }) => {
        const c = copyOf(args);
        const srcWorkdir = c.from ? withWorkdirs(stageNamed(c.from)).at(-1)?.workdir ?? '/' : '/';
        return c.sources.map((s) => posix.relative(srcWorkdir, posix.resolve(srcWorkdir, s)));
      });
    const allowed = [...pkg.files.map((f) => posix.normalize(f).replace(/\/$/, '')), 'package.json', 'node_modules'];
    for (const path of shipped) {
      expect({ path, inPackage: allowed.some((a) => path === a || path.startsWith(`${a}/`)) }).toEqual({ path, inPackage: true });
    }
    // What the CLI reads at run time: package.json (version) and schemas/ (packageRoot, the Avro schema).
    expect(shipped).toEqual(expect.arrayContaining(['package.json', 'schemas', 'node_modules']));
    expect(shipped.some((p) => posix.normalize(pkg.bin.tandem).startsWith(`${p}/`))).toBe(true);
  });

  test('every path copied from the context exists and is not excluded by .dockerignore', () => {
    const fromContext = stages.flatMap((s) => s.body.filter((i) => i.op === 'COPY' || i.op === 'ADD').map((i) => copyOf(i.args)).filter((c) => !c.from));
    expect(fromContext.length).toBeGreaterThan(0);
    for (const src of fromContext.flatMap((c) => c.sources)) {
      expect({ src, exists: existsSync(join(root, src)), ignored: isIgnored(src) }).toEqual({ src, exists: true, ignored: false });
    }
  });

  test('the stage that runs `npm run build` has every file tsconfig.build.json compiles', () => {
    const build = stages.find((s) => runs(s).some((r) => r.includes('npm run build')));
    expect(build).toBeDefined();
    const copied = build!.body.filter((i) => i.op === 'COPY').flatMap((i) => copyOf(i.args).sources.map((s) => s.replace(/\/$/, '')));
    const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.build.json'), 'utf8')) as { extends?: string; include: string[] };
    const needed = ['package.json', 'package-lock.json', 'tsconfig.build.json', ...(tsconfig.extends ? [posix.normalize(tsconfig.extends)] : [])];
    needed.push(...tsconfig.include.map((g) => g.split('/')[0]));
    for (const n of needed) expect({ n, copied: copied.includes(n) }).toEqual({ n, copied: true });
  });

  test('.dockerignore keeps host builds, installs and local state out of the context', () => {
    for (const path of ['node_modules', 'node_modules/jest/package.json', '.tandem', '.tandem/stack/stack.json', 'dist', 'dist/services/bin/tandem.js', '.git', 'npm-debug.log', 'tandem-0.1.0.tgz']) {
      expect({ path, ignored: isIgnored(path) }).toEqual({ path, ignored: true });
    }
    expect(isIgnored('services/bin/tandem.ts')).toBe(false);
    expect(isIgnored('package-lock.json')).toBe(false);
  });

  test("exposes the metrics port (http.port's default) and sets NODE_ENV=production", () => {
    const exposed = final.body.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/)).map((p) => Number(p.split('/')[0]));
    expect(exposed).toContain(httpSchema.parse({}).port);
    const env = final.body.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ');
    expect(env).toMatch(/\bNODE_ENV[= ]production\b/);
  });
});

describe('the Dockerfile and .dockerignore readers', () => {
  test('read stages, continuations and JSON-form COPY', () => {
    const s = parseDockerfile('# c\nFROM node:24-slim AS build\nRUN a \\\n  && b\nCOPY ["x y", "/z/"]\nFROM build\nUSER 1000\n');
    expect(s.map((x) => [x.base, x.name])).toEqual([['node:24-slim', 'build'], ['build', undefined]]);
    expect(s[0].body[0]).toEqual({ op: 'RUN', args: 'a && b' });
    expect(copyOf(s[0].body[1].args)).toEqual({ from: undefined, sources: ['x y'], dest: '/z/' });
    expect(copyOf('--from=build --chown=1:1 /src/dist/ dist/')).toEqual({ from: 'build', sources: ['/src/dist/'], dest: 'dist/' });
  });

  test('match .dockerignore patterns as Docker does', () => {
    const ig = dockerignore('dist\n**/*.log\n*.tgz\ntest\n!test/keep.txt\n');
    expect(ig('dist/a.js')).toBe(true);
    expect(ig('services/dist/a.js')).toBe(false); // `dist` is anchored at the root
    expect(ig('a/b/c.log')).toBe(true);
    expect(ig('x.tgz')).toBe(true);
    expect(ig('deploy/x.tgz')).toBe(false);
    expect(ig('test/a.ts')).toBe(true);
    expect(ig('test/keep.txt')).toBe(false);
  });
});
