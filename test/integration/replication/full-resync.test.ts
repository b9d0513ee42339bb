import Redis from 'ioredis';
import { startRedis, type StandaloneRedis } from '../../harness/redis-standalone';
import { makeLink, startLink, waitFor, waitForCatchUp } from './link-helpers';

/** What a real replica must see of an RDB: the magic, and for a disk RDB exactly $len bytes. */
function expectRdb(rdb: Buffer): void {
  expect(rdb.subarray(0, 5).toString()).toBe('REDIS');
  expect(rdb[rdb.length - 9]).toBe(0xff); // RDB_OPCODE_EOF, then the 8-byte CRC64
}

describe.each([
  { mode: 'disk', port: 7500, args: ['--repl-diskless-sync', 'no'] },
  { mode: 'diskless', port: 7501, args: ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'] },
])('full resync with a $mode RDB', ({ mode, port, args }) => {
  let server: StandaloneRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedis({ port, args });
    redis = new Redis({ port, host: '127.0.0.1' });
    for (let i = 0; i < 1000; i++) await redis.set(`pre:${i}`, 'x'.repeat(i));
    await redis.set('big', Buffer.alloc(300_000, 7));
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('hands the whole RDB to the sink, then streams from the FULLRESYNC offset', async () => {
    // No periodic ACK: for a diskless master the stream must start on the post-RDB ACKs alone.
    const { link, rdb, sink } = makeLink(port, { ackIntervalMs: 60_000 });
    const states: string[] = [];
    link.on('state', (s: string) => states.push(s));
    const run = startLink(link);
    await waitFor('streaming', () => link.state === 'streaming' || run.error() !== undefined);
    expect(run.error()).toBeUndefined();

    expect(rdb.begins).toHaveLength(1);
    expect(rdb.ended).toBe(1);
    const begin = rdb.begins[0];
    if (mode === 'disk') expect(begin.size).toBe(rdb.rdb.length);
    else expect(begin.size).toBeNull();
    expectRdb(rdb.rdb);
    expect(rdb.rdb.includes(Buffer.from('pre:999'))).toBe(true);
    expect(link.stats.rdbBytes).toBe(rdb.rdb.length);
    expect(link.stats.fullResyncReasons).toEqual({ 'no-checkpoint': 1 });
    expect(states).toEqual(['connecting', 'handshaking', 'syncing-rdb', 'streaming']);
    expect(link.replid).toBe(begin.replid);

    // For a diskless master, this only arrives because we ACKed after the RDB.
    await redis.set('after-rdb', '1');
    const offset = await waitForCatchUp(redis, link);
    expect(sink.commands().map((c) => c.argv)).toContainEqual(['set', 'after-rdb', '1']);
    expect(link.offset).toBe(offset);

    await link.stop();
    await run.done;
    expect(run.error()).toBeUndefined();
    expect(link.state).toBe('closed');
  });
});
