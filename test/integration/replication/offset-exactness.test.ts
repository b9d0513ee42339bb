import Redis from 'ioredis';
import { startRedis, type StandaloneRedis } from '../../harness/redis-standalone';
import { makeLink, masterReplOffset, startLink, waitFor, waitForCatchUp } from './link-helpers';

const PORT = 7502;
const CONTROL = new Set(['ping', 'replconf', 'select', 'multi', 'exec']);

/**
 * The design's central promise: after a mixed workload the link's offset equals
 * the master's master_repl_offset to the byte. The workload covers every way
 * bytes enter the stream: plain writes, SET EX (rewritten to PXAT), MULTI/EXEC,
 * EVAL (effects wrapped in MULTI/EXEC), streams and consumer groups, keys that
 * expire during the test (the master propagates DEL/UNLINK), other dbs
 * (SELECT), PINGs (repl-ping-replica-period 1) and GETACKs (WAIT).
 */
describe('replication offset exactness', () => {
  let server: StandaloneRedis;
  const clients: Redis[] = [];

  beforeAll(async () => {
    server = await startRedis({ port: PORT, args: ['--repl-ping-replica-period', '1', '--hz', '50'] });
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await server?.stop();
  });

  it('ends at master_repl_offset exactly after a mixed workload', async () => {
    const db0 = new Redis({ port: PORT, host: '127.0.0.1' });
    const db1 = new Redis({ port: PORT, host: '127.0.0.1', db: 1 });
    const db5 = new Redis({ port: PORT, host: '127.0.0.1', db: 5 });
    clients.push(db0, db1, db5);
    await db0.set('before-sync', 'x');

    const { link, sink } = makeLink(PORT);
    const run = startLink(link);
    await waitFor('streaming', () => link.state === 'streaming' || run.error() !== undefined);

    await db0.xgroup('CREATE', 'stream', 'g1', '$', 'MKSTREAM');
    let incrs = 0;
    const until = Date.now() + 6000;
    for (let i = 0; Date.now() < until; i++) {
      const p = db0.pipeline();
      p.set(`s:${i % 200}`, `v${i}`);
      p.set(`ttl:${i}`, 'x', 'EX', 100);
      p.set(`short:${i}`, 'x', 'PX', 20 + (i % 300)); // expire during the test
      p.incr('counter');
      incrs++;
      p.rpush('list', `e${i}`);
      if (i % 3 === 0) p.lpop('list');
      p.sadd('set', `m${i % 50}`);
      p.zadd('zset', i, `z${i % 70}`);
      p.hset('hash', `f${i % 30}`, i, 'other', 'y');
      p.xadd('stream', '*', 'n', String(i));
      p.xreadgroup('GROUP', 'g1', 'c1', 'COUNT', 1, 'STREAMS', 'stream', '>');
      p.expire(`s:${i % 200}`, 1000);
      p.getex(`ttl:${i}`, 'PX', 10_000);
      await p.exec();

      const ids = (await db0.xpending('stream', 'g1', '-', '+', 5)) as [string][];
      if (ids.length > 0) await db0.xack('stream', 'g1', ...ids.map((e) => e[0]));
      await db0.multi().incr('counter').lpush('list', 'tx').set('tx', String(i)).exec();
      incrs++;
      await db0.eval("redis.call('incr', KEYS[1]); redis.call('hset', KEYS[2], 'a', ARGV[1]); redis.call('del', KEYS[3])", 3, 'counter', 'evalhash', `s:${(i + 1) % 200}`, i);
      incrs++;
      await db1.set(`one:${i % 20}`, i, 'PX', 500);
      await db5.multi().sadd('five', i).expire('five', 60).exec();
      await db0.eval("redis.call('select', 2); redis.call('set', 'in-db-2', ARGV[1])", 0, i);
      if (i % 50 === 0) await db0.wait(1, 100); // GETACK in the stream
      if (i % 25 === 0) await new Promise((r) => setTimeout(r, 20));
    }
    // Let the short TTLs expire and the master propagate their deletions, and let PINGs in.
    await new Promise((r) => setTimeout(r, 1500));
    const master = await waitForCatchUp(db0, link);
    // Stable: nothing in flight, still equal one PING period later.
    await new Promise((r) => setTimeout(r, 1200));
    const master2 = await waitForCatchUp(db0, link);
    expect(master2).toBeGreaterThanOrEqual(master);
    expect(link.offset).toBe(await masterReplOffset(db0));
    expect(run.error()).toBeUndefined();

    // The data is all there, and none of the control commands leaked into it.
    expect(sink.events.length).toBeGreaterThan(1000);
    const cmds = sink.commands();
    expect(cmds.some((c) => CONTROL.has(c.argv[0].toLowerCase()))).toBe(false);
    const counterWrites = cmds.filter((c) => c.db === 0 && c.argv[0].toLowerCase() === 'incr' && c.argv[1] === 'counter');
    expect(counterWrites).toHaveLength(incrs);
    expect(cmds.some((c) => c.db === 1 && c.argv[1].startsWith('one:'))).toBe(true);
    expect(cmds.some((c) => c.db === 5 && c.argv[1] === 'five')).toBe(true);
    expect(cmds.some((c) => c.db === 2 && c.argv[1] === 'in-db-2')).toBe(true);
    expect(cmds.some((c) => ['del', 'unlink'].includes(c.argv[0].toLowerCase()) && c.argv[1].startsWith('short:'))).toBe(true);
    expect(sink.events.some((e) => e.type === 'transaction' && e.commands.length === 3)).toBe(true);
    // Checkpoints are never inside a transaction: each event's checkpoint is its last command's offset.
    for (const e of sink.events) expect(e.checkpoint.offset).toBeGreaterThanOrEqual(e.commands[e.commands.length - 1].offsetAfter);

    await link.stop();
    await run.done;
  });
});
