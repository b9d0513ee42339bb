/**
 * What one applied event costs the target Redis, by the shape of the block
 * that carries it: a client's plain SET (what RedisShake sends), the marker
 * transaction without the guard, the sink's guarded block as the writer
 * builds it (apply/writer.ts, apply/marker-guard.ts), the same with EVALSHA,
 * and one script that would do the guard's check, the marker and the command
 * in a single call. The e2e benchmark puts cluster b at about 7 µs of CPU per
 * replicated write; this says which part of the block that is.
 *
 *   npm run bench -- apply-block [--blocks 200000] [--rounds 3] [--port 22790] [--no-write-md]
 *
 * Starts its own standalone redis-server (no replica, no cluster mode, no
 * persistence) in a temp dir, and for each variant and round: FLUSHALL, then
 * `--blocks` blocks of one 100-byte SET each, 1000 blocks per socket write
 * (pipelined, as the sink writes), each block with its own marker key so
 * the guard always passes. Reported: the server's CPU (utime + stime from
 * /proc) per block, the median over the rounds, and its ratio to the plain SET.
 * A replica would add its own apply of the propagated MULTI, marker SET, SET
 * and EXEC to every variant but the plain SET.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCommand } from '../services/shared/resp';
import { MARKER_GUARD } from '../services/sink/apply/marker-guard';
import { updateBenchmarksSection } from './lib/benchmarks-md';
import { log, sleep } from './lib/e2e-load';
import { arg, machineLine, printMachine } from './lib/machine';

/** A block that checks the marker, writes it and runs one command, all in one call (not what the sink does). */
const ONE_SCRIPT = [
  "local v = redis.call('GET', KEYS[1])",
  "if (v or '') ~= ARGV[1] then return 0 end",
  "redis.call('SET', KEYS[1], ARGV[2])",
  "return redis.pcall('SET', KEYS[2], ARGV[3])",
].join('\n');

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

const VALUE = 'v'.repeat(100);

const VARIANTS: Record<string, { what: string; block: (i: number) => Buffer[] }> = {
  set: { what: 'SET (a client, RedisShake)', block: (i) => [encodeCommand(['SET', `{a}k:${i}`, VALUE])] },
  multi: {
    what: 'MULTI, marker SET, SET, EXEC',
    block: (i) => [encodeCommand(['MULTI']), encodeCommand(['SET', marker(i), `0:${i}:0`]), encodeCommand(['SET', `{a}k:${i}`, VALUE]), encodeCommand(['EXEC'])],
  },
  guarded: {
    what: "WATCH, EVAL guard, MULTI, marker SET, SET, EXEC (the sink's block)",
    block: (i) => [encodeCommand(['WATCH', marker(i)]), encodeCommand(['EVAL', MARKER_GUARD, '1', marker(i), '', '']), ...VARIANTS.multi.block(i)],
  },
  'guarded-evalsha': {
    what: 'the same with EVALSHA',
    block: (i) => [encodeCommand(['WATCH', marker(i)]), encodeCommand(['EVALSHA', sha1(MARKER_GUARD), '1', marker(i), '', '']), ...VARIANTS.multi.block(i)],
  },
  'one-script': {
    what: 'one EVALSHA: check, marker SET, SET (pcall)',
    block: (i) => [encodeCommand(['EVALSHA', sha1(ONE_SCRIPT), '2', marker(i), `{a}k:${i}`, '', `0:${i}:0`, VALUE])],
  },
};

function marker(i: number): string {
  return `__tandem:{a}:o:x${i}`;
}

/** Seconds of CPU the process has used (utime + stime). */
function cpuSeconds(pid: number, ticks: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticks;
}

/** Writes `payload` and resolves once the reply to the ECHO of `token` that ends it has come back. */
function roundTrip(socket: Socket, payload: Buffer[], token: string): Promise<void> {
  return new Promise((resolve) => {
    let tail = '';
    const onData = (d: Buffer) => {
      tail = (tail + d.toString('latin1')).slice(-token.length - 8);
      if (tail.includes(token)) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
    socket.write(Buffer.concat([...payload, encodeCommand(['ECHO', token])]));
  });
}

async function measure(socket: Socket, pid: number, ticks: number, name: string, blocks: number): Promise<number> {
  await roundTrip(socket, [encodeCommand(['FLUSHALL']), encodeCommand(['SCRIPT', 'LOAD', MARKER_GUARD]), encodeCommand(['SCRIPT', 'LOAD', ONE_SCRIPT])], 'ready');
  const before = cpuSeconds(pid, ticks);
  for (let i = 0; i < blocks; i += 1000) {
    const payload: Buffer[] = [];
    for (let j = i; j < Math.min(blocks, i + 1000); j++) payload.push(...VARIANTS[name].block(j));
    await roundTrip(socket, payload, `done-${i}`);
  }
  return ((cpuSeconds(pid, ticks) - before) * 1e6) / blocks;
}

export async function main(argv: string[]): Promise<void> {
  const machine = printMachine('apply-block');
  const blocks = Number(arg(argv, '--blocks', '200000'));
  const rounds = Number(arg(argv, '--rounds', '3'));
  const port = Number(arg(argv, '--port', '22790'));
  const ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
  const dir = mkdtempSync(join(tmpdir(), 'tandem-apply-block-'));
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const socket = connect(port, '127.0.0.1');
  try {
    for (let attempt = 0; ; attempt++) {
      const up = await new Promise<boolean>((resolve) => {
        socket.once('connect', () => resolve(true));
        socket.once('error', () => resolve(false));
      });
      if (up) break;
      if (attempt > 50) throw new Error(`redis-server did not listen on ${port}`);
      await sleep(100);
      socket.connect(port, '127.0.0.1');
    }
    const perBlock: Record<string, number[]> = {};
    for (let r = 0; r < rounds; r++) {
      for (const name of Object.keys(VARIANTS)) {
        const us = await measure(socket, server.pid!, ticks, name, blocks);
        (perBlock[name] ??= []).push(us);
        log(`round ${r + 1} ${name}: ${us.toFixed(2)} µs of Redis CPU per block`);
      }
    }
    // An even number of rounds has two middle values: their mean, not the lower one.
    const median = (xs: number[]) => {
      const v = [...xs].sort((a, b) => a - b);
      const mid = v.length >> 1;
      return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
    };
    const base = median(perBlock.set);
    const rows = Object.entries(VARIANTS).map(([name, v]) => {
      const us = median(perBlock[name]);
      console.log(JSON.stringify({ variant: name, usPerBlock: Number(us.toFixed(2)), rounds: perBlock[name].map((x) => Number(x.toFixed(2))) }));
      return `| ${name} | ${v.what} | ${us.toFixed(2)} | ${perBlock[name].map((x) => x.toFixed(2)).join(', ')} | ${(us / base).toFixed(2)} |`;
    });
    const table = ['| variant | commands per event | Redis CPU µs per block (median) | rounds | × SET |', '|---|---|---:|---|---:|', ...rows].join('\n');
    console.log(`\n${table}`);
    if (!argv.includes('--no-write-md')) {
      updateBenchmarksSection(
        "The apply block's cost in Redis (apply-block)",
        [
          '`npm run bench -- apply-block` (`bench/apply-block.ts`): the target Redis\'s CPU per applied event, by the shape of the block that',
          'carries it (a standalone redis-server 7.0 of its own, no replica, no cluster mode; pipelined 1000 blocks per write, one 100-byte SET each).',
          '',
          `${machineLine(machine)}; ${blocks} blocks per variant and round.`,
          '',
          table,
        ].join('\n'),
      );
    }
  } finally {
    socket.destroy();
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}
