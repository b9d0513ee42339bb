import Redis from 'ioredis';
import { assertMaster } from '../../../services/source/replication/role-check';
import { startRedis, type StandaloneRedis } from '../../harness/redis-standalone';
import { makeLink, startLink, waitFor } from './link-helpers';

/**
 * A replica answers PSYNC too (chained replication) and sends its master's
 * whole dataset: a source link that reached one (a node that turned replica
 * between the link's role check and its PSYNC, as a joining replica does)
 * once published a shard's keys again as snapshot events, which overwrote
 * newer counters in the peer. The check right after PSYNC (role-check.ts)
 * ends the attempt before a byte of the answer is read.
 */
describe('a PSYNC answered by a replica', () => {
  const MASTER = 7512;
  const REPLICA = 7513;
  let master: StandaloneRedis;
  let replica: StandaloneRedis;
  let m: Redis;
  let r: Redis;

  beforeAll(async () => {
    master = await startRedis({ port: MASTER, args: ['--repl-diskless-sync', 'no'] });
    replica = await startRedis({ port: REPLICA, args: ['--replicaof', '127.0.0.1', String(MASTER), '--repl-diskless-sync', 'no'] });
    m = new Redis({ port: MASTER, host: '127.0.0.1' });
    r = new Redis({ port: REPLICA, host: '127.0.0.1' });
    for (let i = 0; i < 200; i++) await m.set(`counter:${i}`, String(i));
    await waitFor('the replica in sync', async () => /master_link_status:up/.test(await r.info('replication')) && (await r.dbsize()) === 200);
  });
  afterAll(async () => {
    m?.disconnect();
    r?.disconnect();
    await replica?.stop();
    await master?.stop();
  });

  it('without the check, the replica serves its master\'s dataset (the hazard is real)', async () => {
    const { link, rdb } = makeLink(REPLICA);
    const run = startLink(link);
    await waitFor('the RDB', () => rdb.ended === 1 || run.error() !== undefined);
    expect(run.error()).toBeUndefined();
    expect(rdb.rdb.includes(Buffer.from('counter:199'))).toBe(true);
    await link.stop();
    await run.done;
  });

  it('with the check after PSYNC, the attempt ends with nothing delivered, as a retriable error', async () => {
    const { link, rdb, sink } = makeLink(REPLICA, { afterPsync: () => assertMaster(r, `127.0.0.1:${REPLICA}`, 'when it answered PSYNC').then(() => undefined) });
    const run = startLink(link);
    await run.done;
    expect(run.error()).toMatchObject({ code: 'REDIS_UNAVAILABLE', retriable: true, message: expect.stringMatching(/is not a master \(when it answered PSYNC\)/) });
    expect(rdb.begins).toEqual([]);
    expect(rdb.chunks).toEqual([]);
    expect(sink.events).toEqual([]);
  });

  it('a master passes the check and streams', async () => {
    const { link, rdb } = makeLink(MASTER, { afterPsync: () => assertMaster(m, `127.0.0.1:${MASTER}`, 'when it answered PSYNC').then(() => undefined) });
    const run = startLink(link);
    await waitFor('streaming', () => link.state === 'streaming' || run.error() !== undefined);
    expect(run.error()).toBeUndefined();
    expect(rdb.rdb.includes(Buffer.from('counter:199'))).toBe(true);
    await link.stop();
    await run.done;
  });
});
