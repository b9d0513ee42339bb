import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SLOT_COUNT } from '../../services/shared/slot';
import { slotTag } from '../../services/shared/slot-tags';
import type { ClusterMaster, ClusterNodes } from './cluster-nodes';
import { log, nowMs, waitAllVisible, type LoadResult, type Replicator } from './e2e-load';

/**
 * The `max` load: `requests` SETs of distinct keys, key i in slot i mod 16384
 * (so every slot), as fast as `redis-cli --pipe` writes them: one RESP file
 * per master of a, holding only the keys of that master's slots, and all
 * masters fed at once. Throughput = writes / (time from the load's start until
 * DBSIZE over b's masters counts them all).
 */
const VALUE = 'v'.repeat(13); // the size of the paced loads' Date.now() values

function resp(args: string[]): string {
  return `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
}

/** Writes one RESP file per master; returns the files and the key count of each. */
function writeRespFiles(a: ClusterNodes, requests: number, dir: string, prefix: string): { master: ClusterMaster; file: string; keys: number }[] {
  mkdirSync(dir, { recursive: true });
  const owner = new Array<number>(SLOT_COUNT);
  a.masters.forEach((m, i) => m.slots.forEach((s) => (owner[s] = i)));
  const parts = a.masters.map(() => [] as string[]);
  for (let i = 0; i < requests; i++) {
    const slot = i % SLOT_COUNT;
    parts[owner[slot]].push(resp(['SET', `${prefix}:{${slotTag(slot)}}:${i}`, VALUE]));
  }
  return a.masters.map((master, i) => {
    const file = join(dir, `${master.port}.resp`);
    writeFileSync(file, parts[i].join(''));
    return { master, file, keys: parts[i].length };
  });
}

/** `redis-cli --pipe` of one file into one master; resolves with its reply and error counts. */
function pipe(master: ClusterMaster, file: string): Promise<{ replies: number; errors: number }> {
  const fd = openSync(file, 'r');
  const p = spawn('redis-cli', ['-h', master.host, '-p', String(master.port), '--pipe'], { stdio: [fd, 'pipe', 'pipe'] });
  closeSync(fd); // the child holds its own copy
  let out = '';
  p.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  p.stderr?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  return new Promise((resolve, reject) => {
    p.once('error', reject);
    // 'close', not 'exit': the exit can come before the last of stdout is read.
    p.once('close', (code) => {
      const m = /errors: (\d+), replies: (\d+)/.exec(out);
      if (code !== 0 || !m) reject(new Error(`redis-cli --pipe into ${master.host}:${master.port} exited with ${code}: ${out.trim().slice(-300)}`));
      else resolve({ errors: Number(m[1]), replies: Number(m[2]) });
    });
  });
}

export async function pipeLoad(o: { a: ClusterNodes; b: ClusterNodes; replicator: Replicator; requests: number; dir: string; drainTimeoutS: number; onWritesDone?: () => Promise<void> }): Promise<LoadResult> {
  const files = writeRespFiles(o.a, o.requests, o.dir, `e2e:max:${Date.now().toString(36)}`);
  const t0 = nowMs();
  const fed = Promise.all(files.map((f) => pipe(f.master, f.file)));
  // Poll b from the start: the last keys may arrive right after the last reply from a.
  const slots = Math.min(o.requests, SLOT_COUNT);
  const target = { expected: o.requests + slots * o.replicator.keysPerSlot, deadline: Number.POSITIVE_INFINITY };
  const visible = waitAllVisible(o.b, target, o.replicator);
  let replies: { replies: number; errors: number }[];
  try {
    replies = await fed;
  } catch (err) {
    target.deadline = 0;
    await visible.catch(() => undefined); // the pipe's failure is the one to report
    throw err;
  }
  const t1 = nowMs();
  const errors = replies.reduce((s, r) => s + r.errors, 0);
  const writes = replies.reduce((s, r) => s + r.replies, 0) - errors;
  target.expected = writes + slots * o.replicator.keysPerSlot; // a failed SET leaves no key
  target.deadline = t1 + o.drainTimeoutS * 1000;
  await o.onWritesDone?.();
  if (errors > 0) log(`max/${o.replicator.name}: ${errors} redis-cli --pipe errors`);
  const bounded = await visible;
  if (bounded.at === null) log(`max/${o.replicator.name}: NOT all visible in b ${o.drainTimeoutS} s after the writes (DBSIZE ${bounded.last})`);
  const writeSeconds = (t1 - t0) / 1000;
  const visibleS = bounded.at === null ? null : (bounded.at - t0) / 1000;
  return {
    load: 'max',
    replicator: o.replicator.name,
    targetRate: null,
    writes,
    errors,
    writeSeconds: Number(writeSeconds.toFixed(2)),
    writeRate: Math.round(writes / writeSeconds),
    visibleS: visibleS === null ? null : Number(visibleS.toFixed(2)),
    replicatedRate: visibleS === null ? Number.NaN : Math.round(writes / visibleS),
    probes: 0,
    lost: 0,
    p50: Number.NaN,
    p99: Number.NaN,
    max: Number.NaN,
    rss: {},
  };
}
