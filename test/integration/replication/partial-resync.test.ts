import Redis from 'ioredis';
import { TandemError } from '../../../services/shared/errors';
import { startRedis, type StandaloneRedis } from '../../harness/redis-standalone';
import { makeLink, startLink, waitFor, waitForCatchUp, type RecordingCommandSink } from './link-helpers';

const PORT = 7503;

/** The sequence numbers a sink saw, from `MULTI RPUSH seq <n>; INCR n EXEC` transactions. */
function sequence(sink: RecordingCommandSink): number[] {
  return sink.commands().filter((c) => c.argv[0].toLowerCase() === 'rpush' && c.argv[1] === 'seq').map((c) => Number(c.argv[2]));
}

describe('partial resync (+CONTINUE)', () => {
  let server: StandaloneRedis;
  let redis: Redis;
  let next = 0;
  let writing = false;
  let writer: Promise<void> = Promise.resolve();

  /** Writes numbered transactions in the background until stopWriting(). */
  const startWriting = (): void => {
    writing = true;
    writer = (async () => {
      while (writing) {
        const n = next++;
        await redis.multi().rpush('seq', String(n)).incr('n').exec();
        if (n % 20 === 0) await new Promise((r) => setTimeout(r, 2));
      }
    })();
  };
  const stopWriting = async (): Promise<void> => {
    writing = false;
    await writer;
  };

  beforeAll(async () => {
    server = await startRedis({ port: PORT });
    redis = new Redis({ port: PORT, host: '127.0.0.1' });
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('resumes from a checkpoint with PSYNC <replid> <offset+1>, with no gap and no duplicate', async () => {
    const first = makeLink(PORT);
    const run1 = startLink(first.link);
    await waitFor('streaming', () => first.link.state === 'streaming');
    startWriting();
    await waitFor('some events', () => first.sink.events.length > 200);
    await first.link.stop();
    await run1.done;
    expect(run1.error()).toBeUndefined();
    const checkpoint = first.link.checkpoint;
    if (!checkpoint) throw new Error('no checkpoint');

    // Writes keep coming while no link is attached; the backlog keeps them.
    await new Promise((r) => setTimeout(r, 200));
    const second = makeLink(PORT, { checkpoint });
    const onContinue = jest.fn();
    second.link.on('continue', onContinue);
    const run2 = startLink(second.link);
    await waitFor('streaming', () => second.link.state === 'streaming' || run2.error() !== undefined);
    expect(run2.error()).toBeUndefined();
    await new Promise((r) => setTimeout(r, 200));
    await stopWriting();
    await waitForCatchUp(redis, second.link);

    expect(second.link.stats.partialResyncs).toBe(1);
    expect(second.link.stats.fullResyncs).toBe(0);
    expect(second.rdb.begins).toHaveLength(0);
    expect(onContinue).toHaveBeenCalledWith(expect.objectContaining({ replid: checkpoint.replid, offset: checkpoint.offset }));
    const seen = [...sequence(first.sink), ...sequence(second.sink)];
    expect(seen).toEqual(Array.from({ length: next }, (_, i) => i));
    // Every transaction arrived whole: RPUSH and INCR together.
    for (const e of second.sink.events) expect(e.type === 'transaction' && e.commands.length === 2).toBe(true);
    await second.link.stop();
    await run2.done;
  });

  it('surfaces a killed connection as retriable REPL_LINK_LOST, and run() again continues', async () => {
    const { link, sink } = makeLink(PORT);
    // Handle the outcome at once: the rejection comes while the test awaits CLIENT KILL.
    const outcome = link.run().then(
      () => null,
      (e: unknown) => e,
    );
    await waitFor('streaming', () => link.state === 'streaming');
    const from = next;
    startWriting();
    await waitFor('some events', () => sink.events.length > 100);
    await redis.client('KILL', 'TYPE', 'replica');
    const err = await outcome;
    expect(err).toBeInstanceOf(TandemError);
    expect((err as TandemError).code).toBe('REPL_LINK_LOST');
    expect((err as TandemError).retriable).toBe(true);
    expect(link.state).toBe('closed');

    const run2 = startLink(link); // same link: resumes from its own checkpoint
    await waitFor('streaming again', () => link.state === 'streaming' || run2.error() !== undefined);
    expect(run2.error()).toBeUndefined();
    await stopWriting();
    await waitForCatchUp(redis, link);
    expect(link.stats.partialResyncs).toBe(1);
    expect(link.stats.fullResyncs).toBe(1);
    expect(sequence(sink)).toEqual(Array.from({ length: next - from }, (_, i) => from + i));
    await link.stop();
    await run2.done;
  });

  it('falls back to a full resync when the replid is unknown to the master', async () => {
    const { link, rdb } = makeLink(PORT, { checkpoint: { replid: 'f'.repeat(40), offset: 12345 } });
    const onFull = jest.fn();
    link.on('fullresync', onFull);
    const run = startLink(link);
    await waitFor('streaming', () => link.state === 'streaming' || run.error() !== undefined);
    expect(run.error()).toBeUndefined();
    expect(link.stats.fullResyncReasons).toEqual({ 'psync-rejected': 1 });
    expect(onFull).toHaveBeenCalledWith(expect.objectContaining({ reason: 'psync-rejected' }));
    expect(rdb.ended).toBe(1);
    expect(link.replid).not.toBe('f'.repeat(40));
    await waitForCatchUp(redis, link);
    await link.stop();
    await run.done;
  });
});
