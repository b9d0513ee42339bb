/**
 * RDB parser benchmark: writes a synthetic RDB (many small keys, a big
 * quicklist, a hash, and one very large string key), then parses it from disk
 * in 1 MiB chunks and reports MB/s and peak RSS.
 *
 *   node dist/bench/rdb-parse.js [--size-mb 1024] [--big-key-mb 100] [--file /tmp/tandem-bench.rdb]
 *
 * The parser's memory is bounded by its options (16 MiB inline payload), so
 * peak RSS should stay flat however large --size-mb and --big-key-mb are.
 */
import { createReadStream, createWriteStream, unlinkSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Crc64 } from '../services/source/rdb/crc64';
import { parseRdb } from '../services/source/rdb/parse-rdb';

function len(n: number): Buffer {
  if (n < 64) return Buffer.from([n]);
  if (n < 16384) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0x80;
  b.writeUInt32BE(n, 1);
  return b;
}

const str = (s: Buffer): Buffer => Buffer.concat([len(s.length), s]);

async function writeSyntheticRdb(path: string, sizeMb: number, bigKeyMb: number): Promise<number> {
  const out = createWriteStream(path, { highWaterMark: 4 * 1024 * 1024 });
  const crc = new Crc64();
  let written = 0;
  const put = async (b: Buffer): Promise<void> => {
    crc.update(b);
    written += b.length;
    if (!out.write(b)) await once(out, 'drain');
  };
  await put(Buffer.from('REDIS0011'));
  await put(Buffer.concat([Buffer.from([250]), str(Buffer.from('redis-ver')), str(Buffer.from('7.2.6'))]));
  await put(Buffer.from([254, 0]));
  // One big string key, written in 1 MiB pieces.
  const piece = Buffer.alloc(1024 * 1024, 0x61);
  await put(Buffer.concat([Buffer.from([0]), str(Buffer.from('big:string')), len(bigKeyMb * 1024 * 1024)]));
  for (let i = 0; i < bigKeyMb; i++) await put(piece);
  // A big list: quicklist 2 with 4 KiB plain nodes, 16 MiB per key.
  const node = Buffer.alloc(4096, 0x62);
  const target = sizeMb * 1024 * 1024;
  let k = 0;
  while (written < target * 0.7) {
    const nodes = 4096;
    await put(Buffer.concat([Buffer.from([18]), str(Buffer.from(`list:${k++}`)), len(nodes)]));
    const one = Buffer.concat([len(1), str(node)]);
    for (let i = 0; i < nodes; i++) await put(one);
  }
  // Many small string keys.
  while (written < target) {
    const batch: Buffer[] = [];
    for (let i = 0; i < 1000; i++) batch.push(Buffer.from([0]), str(Buffer.from(`key:${k++}`)), str(Buffer.from(`value-${k}-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`)));
    await put(Buffer.concat(batch));
  }
  await put(Buffer.from([255]));
  const sum = crc.digest();
  written += sum.length;
  out.write(sum);
  out.end();
  await once(out, 'finish');
  return written;
}

function arg(argv: string[], name: string, def: string): string {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : def;
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  const sizeMb = Number(arg(argv, '--size-mb', '1024'));
  const bigKeyMb = Number(arg(argv, '--big-key-mb', '100'));
  const file = arg(argv, '--file', join(tmpdir(), `tandem-rdb-bench-${process.pid}.rdb`));
  const bytes = await writeSyntheticRdb(file, sizeMb, bigKeyMb);
  const rssBefore = process.memoryUsage().rss;
  const started = process.hrtime.bigint();
  let keys = 0;
  let chunked = 0;
  let maxChunk = 0;
  let bigKeySeconds = 0;
  try {
    for await (const ev of parseRdb(createReadStream(file, { highWaterMark: 1024 * 1024 }))) {
      if (ev.kind === 'key' || ev.kind === 'key-end') keys++;
      if (keys === 1 && bigKeySeconds === 0) bigKeySeconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (ev.kind === 'key-begin') chunked++;
      if (ev.kind === 'key-chunk') maxChunk = Math.max(maxChunk, ev.data.length);
    }
  } finally {
    if (!argv.includes('--keep')) unlinkSync(file);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const mb = bytes / 1024 / 1024;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  console.log(
    JSON.stringify({
      bench: 'rdb-parse',
      rdbMB: Math.round(mb),
      bigKeyMB: bigKeyMb,
      keys,
      chunkedKeys: chunked,
      maxChunkBytes: maxChunk,
      seconds: Number(seconds.toFixed(2)),
      mbPerSec: Number((mb / seconds).toFixed(1)),
      bigKeyMbPerSec: Number((bigKeyMb / bigKeySeconds).toFixed(1)),
      rssBeforeParseMB: Math.round(rssBefore / 1024 / 1024),
      peakRssMB: Math.round(peakRssMb),
    }),
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
