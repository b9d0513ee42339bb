/**
 * Starts a throwaway standalone redis-server for tests: no persistence, its own
 * temp dir, bound to 127.0.0.1. `stop()` kills it by pid and waits for it to
 * exit, then removes the dir. Ports 7500-7519 belong to the replication tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as net from 'node:net';
import { join } from 'node:path';

export interface StandaloneRedis {
  port: number;
  dir: string;
  pid: number;
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  port: number;
  /** Extra arguments, e.g. ['--repl-diskless-sync', 'yes']. */
  args?: string[];
  binary?: string;
  startTimeoutMs?: number;
}

export async function startRedis(opts: StartRedisOptions): Promise<StandaloneRedis> {
  const dir = mkdtempSync(join(tmpdir(), `tandem-redis-${opts.port}-`));
  const args = ['--port', String(opts.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...(opts.args ?? [])];
  const child = spawn(opts.binary ?? 'redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`redis-server on port ${opts.port} exited at start: ${output}`);
    }
    if (await pings(opts.port)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server on port ${opts.port} did not answer PING: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port: opts.port, dir, pid: pidOf(child), stop };
}

function pidOf(child: ChildProcess): number {
  if (child.pid === undefined) throw new Error('redis-server has no pid');
  return child.pid;
}

/** True when something on the port answers PING with +PONG (or -NOAUTH: it is up, just protected). */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
  });
}
