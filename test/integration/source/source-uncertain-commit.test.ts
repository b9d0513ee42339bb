import { createLogger } from '../../../services/shared/logger';
import type { ChangeEvent } from '../../../services/shared/change-event';
import { loadCheckpointTopic, type CheckpointRecord } from '../../../services/shared/checkpoint';
import { ChangePublisher } from '../../../services/source/kafka/publisher';
import { createDcTopics, kafka, readEvents } from '../../harness/source-process';

/**
 * Issue 12 item 7, an uncertain commit: EndTxn can fail after the coordinator
 * decided the transaction, and a publisher that simply sent its events again
 * would put them in the topic twice. On the real broker, with the fault
 * injected around EndTxn:
 * - `lose-reply`: the commit succeeded, the publisher is told it failed;
 * - `lose-request`: the commit never happened, the publisher is told it failed.
 * In both cases every event is in the topic exactly once, the checkpoint is
 * committed, and the outcome read back is counted.
 */
const run = Date.now().toString(36);

function event(i: number): ChangeEvent {
  return {
    origin: 'a', source: 'a', kind: 'command', slot: i % 16384, db: 0,
    commands: [[Buffer.from('INCR'), Buffer.from(`k${i}`)]],
    replId: 'f'.repeat(40), replOffset: 100 + i, nodeId: 'n'.repeat(40), capturedAt: Date.now(), seq: 0, flags: [], dedupeKey: null,
  };
}

function checkpoint(dc: string, offset: number): CheckpointRecord {
  return { replid: 'f'.repeat(40), offset, db: 0, nodeId: 'n'.repeat(40), address: '127.0.0.1:1', partitions: 16, dc, updatedAt: Date.now() };
}

async function publishWithFault(dc: string, fault: 'lose-reply' | 'lose-request'): Promise<{ outcomes: string[] }> {
  await createDcTopics(dc);
  let faults = 0;
  const outcomes: string[] = [];
  const publisher = new ChangePublisher({
    kafka: kafka(), dc, partitions: 16, transactionalId: `tandem-source-${dc}`,
    log: createLogger('test', { level: 'silent' }),
    commitIntervalMs: 50, lingerMs: 0, maxBufferedBytes: 32 * 1024 * 1024, maxEventsPerRecord: 1000, maxRecordBytes: 1024 * 1024, maxMessageBytes: 8 * 1024 * 1024,
    // The second transaction meets the fault, once.
    faults: { commit: () => (++faults === 2 ? fault : undefined) },
    onUncertainCommit: (o) => outcomes.push(o),
  });
  await publisher.start();
  try {
    for (let i = 0; i < 300; i++) {
      await publisher.append(event(i), { key: 'f'.repeat(40), record: checkpoint(dc, 100 + i) });
      if (i % 100 === 99) await publisher.flush();
    }
    for (let i = 0; i < 100 && (publisher.commitFailures > 0 || publisher.committedOffset('f'.repeat(40)) !== 399); i++) {
      await publisher.flush();
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await publisher.stop();
  }
  return { outcomes };
}

describe('source: a commit whose outcome is unknown', () => {
  test.each(['lose-reply', 'lose-request'] as const)('%s: every event is in the topic once, and the checkpoint is committed', async (fault) => {
    const dc = `uncertain-${fault}-${run}`;
    const { outcomes } = await publishWithFault(dc, fault);
    expect(outcomes).toEqual([fault === 'lose-reply' ? 'committed' : 'aborted']);
    const events = await readEvents(dc);
    const offsets = events.map((e) => e.replOffset).sort((x, y) => x - y);
    expect(offsets).toEqual(Array.from({ length: 300 }, (_, i) => 100 + i));
    const { checkpoints, txSeqs } = await loadCheckpointTopic(kafka(), dc);
    expect(checkpoints.get('f'.repeat(40))?.offset).toBe(399);
    // lose-reply: the lost transaction counts as committed (its events are not sent again); lose-request: its sequence is reused.
    expect(txSeqs.get(`tandem-source-${dc}`)).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
