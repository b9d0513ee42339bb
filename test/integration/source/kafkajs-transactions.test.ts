import { TRANSACTION_RETRY } from '../../../services/source/kafka/publisher';
import { topicsOf } from '../../../services/shared/kafka-client';
import { createDcTopics, kafka } from '../../harness/source-process';

/**
 * The kafkajs patch on the real broker (patches/kafkajs+2.2.4.patch): a
 * transactional producer with the source's settings commits transactions
 * back to back, as the publisher does, and asks FindCoordinator and Metadata
 * only when it connects. Unpatched kafkajs asked FindCoordinator before every
 * AddPartitionsToTxn and EndTxn, and refreshed the metadata on every
 * CONCURRENT_TRANSACTIONS retry (about every other transaction here).
 */
describe('source: a Kafka transaction costs only its own requests', () => {
  it('30 transactions back to back: AddPartitionsToTxn, Produce and EndTxn each, no FindCoordinator or Metadata between them', async () => {
    const dc = `kjs${Date.now().toString(36)}`;
    await createDcTopics(dc);
    const producer = kafka().producer({ transactionalId: `tandem-source-${dc}`, idempotent: true, maxInFlightRequests: 1, retry: TRANSACTION_RETRY });
    const requests: Record<string, number> = {};
    producer.on(producer.events.REQUEST, (e) => {
      requests[e.payload.apiName] = (requests[e.payload.apiName] ?? 0) + 1;
    });
    const transaction = async (i: number) => {
      const tx = await producer.transaction();
      await tx.send({ topic: topicsOf(dc).changes, acks: -1, messages: [{ partition: (i + 16) % 16, value: Buffer.from(`event ${i}`) }] });
      await tx.commit();
    };
    await producer.connect();
    try {
      await transaction(-1); // the first send to a topic reads its metadata
      const atConnect = { ...requests };
      for (let i = 0; i < 30; i++) await transaction(i);
      const during = (api: string) => (requests[api] ?? 0) - (atConnect[api] ?? 0);
      expect(during('EndTxn')).toBe(30);
      expect(during('Produce')).toBe(30);
      expect(during('AddPartitionsToTxn')).toBeGreaterThanOrEqual(30); // plus its CONCURRENT_TRANSACTIONS retries
      expect(during('GroupCoordinator')).toBe(0); // kafkajs names FindCoordinator so
      expect(during('Metadata')).toBe(0);
    } finally {
      await producer.disconnect();
    }
  });
});
