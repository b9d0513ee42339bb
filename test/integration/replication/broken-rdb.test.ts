import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { startRedis, type StandaloneRedis } from '../../harness/redis-standalone';
import { RecordingRdbSink, makeLink, startLink, waitFor } from './link-helpers';

/**
 * Regression: a link lost in the middle of its RDB must not PSYNC from the
 * RDB's replid and offset. The master still has that offset in its backlog
 * and would answer +CONTINUE, and the keys not yet received would be skipped
 * for good. The next attempt has to be a full resync again.
 */
const PORT = 7505;

/** An RDB sink that, on the first chunk of the first transfer, has the master drop the link. */
class BreakingRdbSink extends RecordingRdbSink {
  transfers = 0;
  aborted = 0;
  constructor(private readonly breakLink: () => Promise<void>) {
    super();
  }
  override begin(info: { replid: string; offset: number; size: number | null }): void {
    this.transfers++;
    super.begin(info);
  }
  override async write(chunk: Buffer): Promise<void> {
    super.write(chunk);
    // While write() waits, the link does not read: the rest of the RDB stays unsent.
    if (this.transfers === 1 && this.chunks.length === 1) await this.breakLink();
  }
  abort(): void {
    this.aborted++;
  }
}

describe('an RDB transfer broken part way', () => {
  let server: StandaloneRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedis({ port: PORT, args: ['--repl-diskless-sync', 'no', '--repl-backlog-size', '64mb'] });
    redis = new Redis({ port: PORT, host: '127.0.0.1' });
    // Far more than socket buffers hold, so the break lands inside the RDB.
    for (let i = 0; i < 64; i++) await redis.set(`bulk:${i}`, randomBytes(1 << 20)); // incompressible
    await redis.set('last-key', 'v');
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('is followed by a new full resync, not a +CONTINUE from the RDB offset', async () => {
    const rdb = new BreakingRdbSink(async () => {
      await redis.call('CLIENT', 'KILL', 'TYPE', 'replica');
    });
    const { link } = makeLink(PORT, { rdbSink: rdb });
    const first = startLink(link);
    await first.done;
    expect(String(first.error())).toMatch(/closed the connection|ECONNRESET|lost/);
    expect(rdb.aborted).toBe(1);
    // Nothing was safe to resume from: no checkpoint before the full resync, none now.
    expect(link.checkpoint).toBeNull();

    const second = startLink(link);
    await waitFor('streaming', () => link.state === 'streaming' || second.error() !== undefined, 60_000);
    expect(second.error()).toBeUndefined();
    expect(rdb.transfers).toBe(2);
    expect(link.stats.partialResyncs).toBe(0);
    expect(link.stats.fullResyncReasons).toEqual({ 'no-checkpoint': 2 });
    expect(rdb.ended).toBe(1);
    expect(rdb.rdb.includes(Buffer.from('last-key'))).toBe(true);
    await link.stop();
    await second.done;
  });
});
