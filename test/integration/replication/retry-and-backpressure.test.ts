import Redis from 'ioredis';
import { isRetriable } from '../../../services/shared/errors';
import { retry } from '../../../services/shared/retry';
import { startRedis, type StandaloneRedis } from '../../harness/redis-standalone';
import { makeLink, startLink, waitFor, waitForCatchUp } from './link-helpers';

describe('a replica link retried under shared/retry.ts', () => {
  let server: StandaloneRedis;
  let redis: Redis;

  beforeAll(async () => {
    // A replica of a master that does not exist: it answers PSYNC with -NOMASTERLINK.
    server = await startRedis({ port: 7507, args: ['--replicaof', '127.0.0.1', '7509'] });
    redis = new Redis({ port: 7507, host: '127.0.0.1' });
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('retries -NOMASTERLINK with backoff until the master can serve', async () => {
    const { link, sink } = makeLink(7507);
    const attempts: string[] = [];
    link.on('state', (s: string) => s === 'connecting' && attempts.push(s));
    const controller = new AbortController();
    const running = retry(() => link.run(), { policy: { initialMs: 100, maxMs: 300 }, budget: { signal: controller.signal }, retriable: isRetriable });
    await waitFor('a few failed attempts', () => attempts.length >= 3);
    expect(link.state).not.toBe('streaming');
    await redis.replicaof('NO', 'ONE');
    await waitFor('streaming', () => link.state === 'streaming');
    await redis.set('after', '1');
    await waitForCatchUp(redis, link);
    expect(sink.commands().map((c) => c.argv[1])).toContain('after');
    controller.abort();
    await link.stop();
    await running;
    expect(link.state).toBe('closed');
  });

  it('does not retry a fatal error', async () => {
    const { link } = makeLink(7507, { password: 'not-configured-on-the-server' });
    const attempts: string[] = [];
    link.on('state', (s: string) => s === 'connecting' && attempts.push(s));
    // AUTH with a password when none is set: -ERR … AUTH <password> called without any password configured
    await expect(retry(() => link.run(), { policy: { initialMs: 10, maxMs: 10 }, retriable: isRetriable })).rejects.toMatchObject({ retriable: false });
    expect(attempts).toHaveLength(1);
  });
});

describe('backpressure', () => {
  let server: StandaloneRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedis({ port: 7511 });
    redis = new Redis({ port: 7511, host: '127.0.0.1' });
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('stops reading while the consumer is busy; the master holds the backlog; nothing is lost', async () => {
    const { link, sink } = makeLink(7511);
    const run = startLink(link);
    await waitFor('streaming', () => link.state === 'streaming');
    let release: () => void = () => undefined;
    sink.gate = new Promise<void>((r) => (release = r));

    const readBefore = link.stats.bytesRead;
    const value = Buffer.alloc(100_000, 'v');
    for (let i = 0; i < 300; i++) await redis.set(`big:${i}`, value); // ~30 MB
    await new Promise((r) => setTimeout(r, 500));
    const read = link.stats.bytesRead - readBefore;
    // We stopped after a few socket buffers; the rest waits in the master's replica output buffer.
    expect(read).toBeLessThan(8_000_000);
    const omem = Number(/omem=(\d+)/.exec(String(await redis.call('CLIENT', 'LIST', 'TYPE', 'replica')))?.[1]);
    expect(omem).toBeGreaterThan(10_000_000);

    sink.gate = null;
    release();
    await waitForCatchUp(redis, link);
    expect(sink.commands().filter((c) => c.argv[1].startsWith('big:'))).toHaveLength(300);
    await link.stop();
    await run.done;
    expect(run.error()).toBeUndefined();
  });
});
