import { createLogger } from '../../../services/shared/logger';
import type { ChangeEvent } from '../../../services/shared/change-event';
import { ChangePublisher } from '../../../services/source/kafka/publisher';
import { createDcTopics, kafka, readEvents } from '../../harness/source-process';
import { waitFor } from '../replication/link-helpers';

/**
 * `source.lingerMs` on the real broker: after a commit returns, events gather
 * for the linger before the next transaction starts; a record's worth of
 * buffered events (maxRecordBytes) starts it at once. Commit times come from
 * the publisher's onCommit (its end, and how long it took).
 */
const run = Date.now().toString(36);

function event(i: number, valueBytes = 8): ChangeEvent {
  return {
    origin: 'a', source: 'a', kind: 'command', slot: i % 16384, db: 0,
    commands: [[Buffer.from('SET'), Buffer.from(`k${i}`), Buffer.alloc(valueBytes, 'v')]],
    replId: 'f'.repeat(40), replOffset: 100 + i, nodeId: 'n'.repeat(40), capturedAt: Date.now(), seq: 0, flags: [], dedupeKey: null,
  };
}

interface Commit {
  start: number;
  end: number;
  events: number;
}

async function withPublisher(
  dc: string,
  lingerMs: number,
  body: (p: ChangePublisher, commits: Commit[]) => Promise<void>,
  limits = { maxRecordBytes: 64 * 1024, maxBufferedBytes: 32 * 1024 * 1024 },
): Promise<void> {
  await createDcTopics(dc);
  const commits: Commit[] = [];
  const publisher = new ChangePublisher({
    kafka: kafka(), dc, partitions: 16, transactionalId: `tandem-source-${dc}`,
    log: createLogger('test', { level: 'silent' }),
    commitIntervalMs: 50, lingerMs, maxEventsPerRecord: 1000, maxMessageBytes: 8 * 1024 * 1024, ...limits,
    onCommit: ({ ms, events }) => {
      const end = Date.now();
      commits.push({ start: end - ms, end, events });
    },
  });
  await publisher.start();
  try {
    await body(publisher, commits);
  } finally {
    await publisher.stop();
  }
}

describe('source: the linger between transactions', () => {
  test('an event appended right after a commit starts its transaction lingerMs after that commit returned', async () => {
    const dc = `linger-wait-${run}`;
    await withPublisher(dc, 400, async (p, commits) => {
      await p.append(event(1));
      await waitFor('the first commit', () => commits.length === 1);
      await p.append(event(2));
      await waitFor('the second commit', () => commits.length === 2);
      // The second transaction started no earlier than the linger after the first returned (timers fire a little early at most by rounding).
      expect(commits[1].start - commits[0].end).toBeGreaterThanOrEqual(390);
      expect(commits[1].events).toBe(1);
    });
    expect((await readEvents(dc)).map((e) => e.replOffset).sort()).toEqual([101, 102]);
  }, 60_000);

  test('a record\'s worth of buffered events starts the transaction before the linger ends', async () => {
    const dc = `linger-full-${run}`;
    await withPublisher(dc, 20_000, async (p, commits) => {
      await p.append(event(0));
      await waitFor('the first commit', () => commits.length === 1);
      // 64 KiB of buffered events (maxRecordBytes): 1 KiB values.
      for (let i = 1; i <= 64; i++) await p.append(event(i, 1024));
      await waitFor('the full record\'s commit', () => commits.length >= 2, 10_000);
      expect(commits[1].start - commits[0].end).toBeLessThan(10_000);
    });
    expect(await readEvents(dc)).toHaveLength(65);
  }, 60_000);

  test('a full buffer (maxBufferedBytes below a record\'s worth) starts the transaction before the linger ends', async () => {
    const dc = `linger-buffer-${run}`;
    await withPublisher(
      dc,
      20_000,
      async (p, commits) => {
        await p.append(event(0));
        await waitFor('the first commit', () => commits.length === 1);
        // The 64th 1 KiB event fills the 64 KiB buffer: its append waits for the commit the linger would otherwise hold back.
        const appended = (async () => {
          for (let i = 1; i <= 64; i++) await p.append(event(i, 1024));
        })();
        await waitFor('the full buffer\'s commit', () => commits.length >= 2, 10_000);
        await appended;
        expect(commits[1].start - commits[0].end).toBeLessThan(10_000);
      },
      { maxRecordBytes: 1024 * 1024, maxBufferedBytes: 64 * 1024 },
    );
    expect(await readEvents(dc)).toHaveLength(65);
  }, 60_000);
});
