import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * RedisShake (../shared/peers/redis-shake, see its README), the peer the e2e
 * benchmark measures Tandem against: one process that poses as a replica of
 * every master of cluster a and writes straight into cluster b. A measuring
 * instrument only: nothing in the product uses it and CI never runs it.
 */
export interface RedisShake {
  proc: ChildProcess;
  exited: Promise<number | null>;
  logFile: string;
}

export interface RedisShakeOptions {
  binary: string;
  /** its working folder (config, RDB files, logs); emptied first */
  dir: string;
  /** a node of the source cluster */
  from: string;
  /** a node of the target cluster */
  to: string;
  /** masters of the source cluster: start() returns once each streams its AOF */
  masters: number;
  timeoutMs?: number;
}

/**
 * Starts redis-shake and returns once it logged `syncing aof` for every source
 * master, i.e. the full sync (RDB) is over and each link streams commands.
 */
export async function startRedisShake(o: RedisShakeOptions): Promise<RedisShake> {
  if (!existsSync(o.binary)) throw new Error(`redis-shake not found at ${o.binary}`);
  rmSync(o.dir, { recursive: true, force: true });
  mkdirSync(o.dir, { recursive: true });
  const config = join(o.dir, 'shake.toml');
  writeFileSync(
    config,
    [
      '[sync_reader]',
      'cluster = true',
      `address = "${o.from}"`,
      'sync_rdb = true',
      'sync_aof = true',
      '',
      '[redis_writer]',
      'cluster = true',
      `address = "${o.to}"`,
      '',
      '[advanced]',
      `dir = "${join(o.dir, 'data')}"`,
      'log_level = "info"',
      '',
    ].join('\n'),
  );
  const logFile = join(o.dir, 'stdout.log');
  const out = createWriteStream(logFile, { flags: 'a' });
  const proc = spawn(o.binary, [config], { cwd: o.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  // stdout is copied into the same file below: the file ends once both have closed, not when stderr does.
  proc.stderr?.pipe(out, { end: false });
  proc.once('close', () => out.end());
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const shake: RedisShake = { proc, exited, logFile };
  // Its status line, every 5 s, names one source master in turn ("src-1, syncing aof"): all are
  // streaming once each src-<n> has said so (up to 5 s × masters after the start).
  const streaming = new Set<string>();
  let tail = '';
  const ready = new Promise<void>((res, rej) => {
    proc.stdout?.on('data', (d: Buffer) => {
      out.write(d);
      if (streaming.size >= o.masters) return;
      const lines = (tail + d.toString('utf8')).split('\n');
      tail = lines.pop() ?? '';
      for (const line of lines) {
        const m = /(src-\d+), syncing aof/.exec(line);
        if (m) streaming.add(m[1]);
      }
      if (streaming.size >= o.masters) res();
    });
    void exited.then((code) => rej(new Error(`redis-shake exited with ${code} before streaming (log: ${logFile})`)));
  });
  ready.catch(() => undefined); // awaited below
  const timeoutMs = o.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`redis-shake: ${streaming.size} of ${o.masters} masters streaming after ${timeoutMs} ms (log: ${logFile})`)), timeoutMs);
  });
  try {
    await Promise.race([ready, timeout]);
  } catch (err) {
    await stopRedisShake(shake);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return shake;
}

/**
 * SIGTERM, SIGKILL after 5 s: it logs "Got signal: terminated" but went on
 * running for more than 15 s in the runs here, and it has nothing to save.
 */
export async function stopRedisShake(s: RedisShake): Promise<void> {
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return;
  s.proc.kill('SIGTERM');
  const stopped = await Promise.race([s.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5_000))]);
  if (!stopped) {
    s.proc.kill('SIGKILL');
    await s.exited;
  }
}
