/**
 * RDB parse throughput: writes synthetic RDBs under the temp dir, parses each
 * from disk in 1 MiB chunks through RdbParser's push/next API (what the
 * snapshot sink uses), both CRC64s included, and reports MB/s and peak RSS.
 * Each parse runs in a fresh child process, so its peak RSS is the parser's
 * alone, not the generator's.
 *
 *   npm run bench -- rdb-parse [--size-mb 1024] [--big-key-mb 100] [--big-only-mb 512] [--small-mb 256] [--runs 1] [--keep]
 *
 * Scenarios:
 *   mixed       --size-mb RDB: one --big-key-mb string key, 16 MiB quicklists up
 *               to 70 % of the size, then ~60-byte keys (strings, integers,
 *               small listpack hashes) for the rest. Peak RSS is reported here.
 *   big-values  --big-only-mb RDB of large values only: one 300 MiB string and 16 MiB quicklists.
 *   small-keys  --small-mb RDB of small keys only: the per-key cost.
 * Goal (source-connector issue): >= 200 MB/s. Baseline before the small-key
 * work: 39 MB/s mixed, ~310 MB/s big values.
 */
import { fork } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, statSync, unlinkSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Crc64 } from '../services/rdb/crc64';
import { RdbParser } from '../services/rdb/parser';
import { arg, peakRssMiB, printMachine } from './lib/machine';

const GOAL_MB_S = 200;
const BASELINE: Record<Scenario, number | undefined> = { mixed: 39, 'big-values': 310, 'small-keys': undefined };

type Scenario = 'mixed' | 'big-values' | 'small-keys';

function len(n: number): Buffer {
  if (n < 64) return Buffer.from([n]);
  if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0x80;
  b.writeUInt32BE(n, 1);
  return b;
}

const str = (s: Buffer | string): Buffer => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([len(b.length), b]);
};

/** A listpack of short strings (listpack.c): <total 4 LE> <count 2 LE> (<0x80|len> <bytes> <backlen>)* 0xFF. */
function listpack(items: string[]): Buffer {
  const entries = items.map((s) => {
    const b = Buffer.from(s);
    return Buffer.concat([Buffer.from([0x80 | b.length]), b, Buffer.from([b.length + 1])]);
  });
  const body = Buffer.concat(entries);
  const head = Buffer.alloc(6);
  head.writeUInt32LE(6 + body.length + 1, 0);
  head.writeUInt16LE(items.length, 4);
  return Buffer.concat([head, body, Buffer.from([0xff])]);
}

interface Shape {
  sizeMb: number;
  bigKeyMb: number;
  /** Fraction of the file filled with 16 MiB quicklists (after the big key). */
  listFraction: number;
}

async function writeSyntheticRdb(path: string, shape: Shape): Promise<{ bytes: number; keys: number }> {
  const out = createWriteStream(path, { highWaterMark: 4 * 1024 * 1024 });
  const crc = new Crc64();
  let written = 0;
  let keys = 0;
  const put = async (b: Buffer): Promise<void> => {
    crc.update(b);
    written += b.length;
    if (!out.write(b)) await once(out, 'drain');
  };
  await put(Buffer.from('REDIS0011'));
  await put(Buffer.concat([Buffer.from([250]), str('redis-ver'), str('7.2.6')]));
  await put(Buffer.from([254, 0]));
  if (shape.bigKeyMb > 0) {
    // One big string key, written in 1 MiB pieces.
    const piece = Buffer.alloc(1024 * 1024, 0x61);
    await put(Buffer.concat([Buffer.from([0]), str('big:string'), len(shape.bigKeyMb * 1024 * 1024)]));
    for (let i = 0; i < shape.bigKeyMb; i++) await put(piece);
    keys++;
  }
  // Big lists: quicklist 2 with 4 KiB plain nodes, 16 MiB per key.
  const target = shape.sizeMb * 1024 * 1024;
  const one = Buffer.concat([len(1), str(Buffer.alloc(4096, 0x62))]);
  let k = 0;
  while (written < target * shape.listFraction) {
    const nodes = 4096;
    await put(Buffer.concat([Buffer.from([18]), str(`list:${k++}`), len(nodes)]));
    for (let i = 0; i < nodes; i++) await put(one);
    keys++;
  }
  // Small keys, as a cache-like dataset has them: mostly short strings, some
  // integers (int-encoded strings), some small hashes (HASH_LISTPACK), a few with a TTL.
  const hash = str(listpack(['field-a', 'value-1', 'field-b', 'value-2']));
  const expire = Buffer.alloc(9);
  expire[0] = 0xfc;
  expire.writeBigInt64LE(4102444800000n, 1);
  while (written < target) {
    const batch: Buffer[] = [];
    for (let i = 0; i < 1000; i++) {
      const n = k++;
      if (n % 10 === 0) batch.push(expire);
      if (n % 10 === 1) batch.push(Buffer.from([16]), str(`hash:${n}`), hash);
      else if (n % 10 === 2) batch.push(Buffer.from([0]), str(`counter:${n}`), Buffer.from([0xc2]), int32(n));
      else batch.push(Buffer.from([0]), str(`key:${n}`), str(`value-${n}-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`));
    }
    keys += 1000;
    await put(Buffer.concat(batch));
  }
  await put(Buffer.from([255]));
  const sum = crc.digest();
  written += sum.length;
  out.write(sum);
  out.end();
  await once(out, 'finish');
  return { bytes: written, keys };
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n | 0);
  return b;
}

interface ParseResult {
  keys: number;
  chunkedKeys: number;
  seconds: number;
  /** User + system CPU seconds of the parse: steadier than wall time on a shared machine. */
  cpuSeconds: number;
  peakRssMiB: number;
}

/** Parses a file with the push/next API; runs in the child process. */
async function parseFile(file: string): Promise<ParseResult> {
  const parser = new RdbParser();
  let keys = 0;
  let chunkedKeys = 0;
  const started = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    parser.push(chunk as Buffer);
    for (let ev = parser.next(); ev !== undefined; ev = parser.next()) {
      if (ev.kind === 'key') keys++;
      else if (ev.kind === 'key-end') {
        keys++;
        chunkedKeys++;
      }
    }
  }
  parser.end();
  for (let ev = parser.next(); ev !== undefined; ev = parser.next()) if (ev.kind === 'key') keys++;
  if (!parser.done) throw new Error(`${file}: the parser did not reach the end of the RDB`);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { keys, chunkedKeys, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMiB: peakRssMiB() };
}

function parseInChild(file: string, cpuProf: boolean): Promise<ParseResult> {
  const execArgv = cpuProf ? ['--cpu-prof', '--cpu-prof-dir', join(process.cwd(), '.tandem', 'profiles')] : [];
  const child = fork(join(__dirname, 'run.js'), ['rdb-parse', '--parse-file', file], { execArgv, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let result: ParseResult | undefined;
    child.on('message', (m) => (result = m as ParseResult));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 && result ? resolve(result) : reject(new Error(`parse child exited with ${code}`))));
  });
}

const SCENARIOS: Record<Scenario, (argv: string[]) => Shape> = {
  mixed: (argv) => ({ sizeMb: Number(arg(argv, '--size-mb', '1024')), bigKeyMb: Number(arg(argv, '--big-key-mb', '100')), listFraction: 0.7 }),
  'big-values': (argv) => ({ sizeMb: Number(arg(argv, '--big-only-mb', '512')), bigKeyMb: 300, listFraction: 1 }),
  'small-keys': (argv) => ({ sizeMb: Number(arg(argv, '--small-mb', '256')), bigKeyMb: 0, listFraction: 0 }),
};

export async function main(argv: string[]): Promise<void> {
  const parseOnly = arg(argv, '--parse-file', '');
  if (parseOnly !== '') {
    const r = await parseFile(parseOnly);
    process.send?.(r);
    return;
  }
  printMachine('rdb-parse');
  const runs = Math.max(1, Math.min(10, Number(arg(argv, '--runs', '1'))));
  const only = arg(argv, '--scenario', '');
  const rows: Record<string, unknown>[] = [];
  for (const scenario of Object.keys(SCENARIOS) as Scenario[]) {
    if (only !== '' && only !== scenario) continue;
    const shape = SCENARIOS[scenario](argv);
    const file = join(tmpdir(), `tandem-rdb-bench-${process.pid}-${scenario}.rdb`);
    try {
      const { bytes, keys } = await writeSyntheticRdb(file, shape);
      const results: ParseResult[] = [];
      for (let i = 0; i < runs; i++) results.push(await parseInChild(file, argv.includes('--cpu-prof')));
      // The median run: the machine is shared and noisy.
      results.sort((a, b) => a.seconds - b.seconds);
      const r = results[Math.floor(results.length / 2)];
      if (r.keys !== keys) throw new Error(`${scenario}: parsed ${r.keys} keys, wrote ${keys}`);
      const mb = bytes / 1e6;
      const mbPerSec = mb / r.seconds;
      const baseline = BASELINE[scenario];
      rows.push({
        scenario,
        rdbMB: Math.round(mb),
        bigKeyMB: shape.bigKeyMb,
        keys,
        chunkedKeys: r.chunkedKeys,
        seconds: Number(r.seconds.toFixed(2)),
        mbPerSec: Number(mbPerSec.toFixed(1)),
        cpuSeconds: Number(r.cpuSeconds.toFixed(2)),
        mbPerCpuSec: Number((mb / r.cpuSeconds).toFixed(1)),
        usPerKey: Number(((r.seconds * 1e6) / keys).toFixed(3)),
        peakRssMiB: Math.round(r.peakRssMiB),
        vsGoal: Number((mbPerSec / GOAL_MB_S).toFixed(2)),
        vsBaseline: baseline === undefined ? null : Number((mbPerSec / baseline).toFixed(2)),
      });
      console.log(JSON.stringify({ bench: 'rdb-parse', ...rows[rows.length - 1] }));
    } finally {
      if (!argv.includes('--keep') && existsSync(file)) {
        console.error(`removing ${file} (${Math.round(statSync(file).size / 1e6)} MB)`);
        unlinkSync(file);
      }
    }
  }
  console.table(rows);
}
