/**
 * Benchmark dispatcher: `npm run bench -- <name> [args]` builds, then runs
 * `bench/<name>.ts`'s exported `main(args)`. With no name or an unknown one it
 * lists the benchmarks and exits 2. Benchmarks are not part of `npm test`;
 * their results are recorded in BENCHMARKS.md.
 */
import { readdirSync } from 'node:fs';
import { basename } from 'node:path';

type BenchMain = (argv: string[]) => Promise<void>;

/** Every compiled bench/<name>.js next to this file (helpers live in bench/lib/). */
function available(): string[] {
  return readdirSync(__dirname)
    .filter((f) => f.endsWith('.js') && f !== 'run.js')
    .map((f) => basename(f, '.js'))
    .sort();
}

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const names = available();
  if (name === undefined || !names.includes(name)) {
    if (name !== undefined) console.error(`unknown benchmark "${name}"`);
    console.error(`usage: npm run bench -- <name> [args]\navailable: ${names.join(', ')}`);
    return 2;
  }
  const bench = (await import(`./${name}`)) as { main?: BenchMain };
  if (typeof bench.main !== 'function') {
    console.error(`bench/${name}.ts exports no main(args)`);
    return 2;
  }
  await bench.main(rest);
  return 0;
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    // A failed benchmark may leave clients retrying (a Kafka that never came up): exit now rather than wait for them.
    process.exit(1);
  },
);
