import Redis from 'ioredis';
import { TandemError } from '../../../services/shared/errors';
import { startRedis, type StandaloneRedis } from '../../harness/redis-standalone';
import { makeLink, waitFor, waitForCatchUp } from './link-helpers';
import type { ReplicaLinkOptions } from '../../../services/source/replication/replica-link';

const PORT = 7504;

/** Runs a link until it streams (returns null) or fails (returns the error). */
async function tryLink(opts: Partial<ReplicaLinkOptions>, redis?: Redis): Promise<TandemError | null> {
  const { link, sink } = makeLink(PORT, opts);
  let failure: TandemError | null = null;
  const run = link.run().catch((err: TandemError) => {
    failure = err;
  });
  await waitFor('streaming or failure', () => link.state === 'streaming' || failure !== null);
  if (failure === null && redis) {
    await redis.set('auth-check', '1');
    await waitForCatchUp(redis, link);
    expect(sink.commands().map((c) => c.argv[1])).toContain('auth-check');
  }
  await link.stop();
  await run;
  return failure;
}

describe('replica link authentication', () => {
  let server: StandaloneRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedis({ port: PORT, args: ['--requirepass', 'sekret'] });
    redis = new Redis({ port: PORT, host: '127.0.0.1', password: 'sekret' });
    // The minimal ACL for a replica on Redis 7.0 (docs/replication.md).
    await redis.call('ACL', 'SETUSER', 'repl', 'on', '>pw', '+psync', '+replconf', '+ping');
    await redis.call('ACL', 'SETUSER', 'repl-no-ping', 'on', '>pw', '+psync', '+replconf');
    await redis.call('ACL', 'SETUSER', 'repl-no-replconf', 'on', '>pw', '+psync', '+ping');
    await redis.call('ACL', 'SETUSER', 'repl-no-psync', 'on', '>pw', '+replconf', '+ping');
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('syncs with requirepass', async () => {
    expect(await tryLink({ password: 'sekret' }, redis)).toBeNull();
  });

  it('syncs as an ACL user with +psync +replconf +ping', async () => {
    expect(await tryLink({ username: 'repl', password: 'pw' }, redis)).toBeNull();
  });

  it('syncs as an ACL user with only +psync +replconf (our PING runs before AUTH)', async () => {
    expect(await tryLink({ username: 'repl-no-ping', password: 'pw' }, redis)).toBeNull();
  });

  it.each([
    ['repl-no-replconf', /NOPERM/],
    ['repl-no-psync', /NOPERM/],
  ])('refuses user %s with a non-retriable REPL_AUTH', async (username, message) => {
    const err = await tryLink({ username, password: 'pw' });
    expect(err?.code).toBe('REPL_AUTH');
    expect(err?.retriable).toBe(false);
    expect(err?.message).toMatch(message);
  });

  it('reports a wrong password clearly', async () => {
    const err = await tryLink({ password: 'wrong' });
    expect(err?.code).toBe('REPL_AUTH');
    expect(err?.retriable).toBe(false);
    expect(err?.message).toMatch(/refused AUTH: WRONGPASS/);
    expect(err?.message).not.toMatch(/wrong/); // the password never lands in a message
  });

  it('reports a missing password clearly', async () => {
    const err = await tryLink({});
    expect(err?.code).toBe('REPL_AUTH');
    expect(err?.message).toMatch(/requires authentication .* no password is configured/);
  });
});
