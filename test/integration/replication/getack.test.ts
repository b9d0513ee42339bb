import Redis from 'ioredis';
import { startRedis, type StandaloneRedis } from '../../harness/redis-standalone';
import { encodedLength } from '../../../services/shared/resp';
import { makeLink, startLink, waitFor, waitForCatchUp } from './link-helpers';

const PORT = 7506;

describe('REPLCONF GETACK', () => {
  let server: StandaloneRedis;
  let redis: Redis;

  beforeAll(async () => {
    // Diskless with no delay: also the regression test for the first-ACK race (replica-link.ts).
    server = await startRedis({ port: PORT, args: ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'] });
    redis = new Redis({ port: PORT, host: '127.0.0.1' });
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('answers at once, so WAIT 1 counts the link as a replica that has the write', async () => {
    // A long ACK period: only an answer to GETACK can satisfy WAIT in time.
    const { link } = makeLink(PORT, { ackIntervalMs: 60_000 });
    const run = startLink(link);
    await waitFor('streaming', () => link.state === 'streaming');
    await new Promise((r) => setTimeout(r, 700)); // past the post-RDB follow-up ACKs
    for (let i = 0; i < 5; i++) {
      await redis.set(`k${i}`, String(i));
      const started = Date.now();
      expect(await redis.wait(1, 5000)).toBe(1);
      expect(Date.now() - started).toBeLessThan(1000);
      // Like a real replica we ACK the offset before the GETACK itself
      // (37 bytes: *3 REPLCONF GETACK *), which still covers the client's write.
      const info = await redis.info('replication');
      const master = Number(/master_repl_offset:(\d+)/.exec(info)?.[1]);
      const acked = Number(/slave0:.*offset=(\d+)/.exec(info)?.[1]);
      expect(acked).toBe(master - encodedLength(['REPLCONF', 'GETACK', '*'].map((a) => Buffer.from(a))));
    }
    await waitForCatchUp(redis, link);
    await link.stop();
    await run.done;
  });
});
