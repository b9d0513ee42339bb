import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { SLOT_COUNT } from '../../services/shared/slot';
import { slotTag } from '../../services/shared/slot-tags';
import { readTopology } from '../../services/shared/topology/read-topology';
import { clusterClient, testEndpoints } from '../harness/endpoints';

/** Proves the stack under the tests is real: Kafka transactions and two working Redis Clusters. */
const kafka = () => new Kafka({ clientId: 'smoke', brokers: testEndpoints().kafkaBrokers, logLevel: logLevel.NOTHING });

async function collect(consumer: Consumer, topic: string, until: (values: string[]) => boolean, timeoutMs = 30_000): Promise<string[]> {
  const values: string[] = [];
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out; got ${values.length} messages: ${values.join(',')}`)), timeoutMs);
    consumer
      .run({
        eachMessage: async ({ message }) => {
          values.push(message.value?.toString() ?? '');
          if (until(values)) {
            clearTimeout(timer);
            resolve();
          }
        },
      })
      .catch(reject);
  });
  return values;
}

describe('local stack smoke', () => {
  test('a committed transaction is read by a read_committed consumer group, an aborted one is not', async () => {
    const k = kafka();
    const topic = `smoke.${randomUUID()}`;
    const admin = k.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    await admin.disconnect();

    const producer = k.producer({ transactionalId: `smoke-${randomUUID()}`, idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [0, 1, 2].map((i) => ({ key: String(i), value: `aborted-${i}` })) });
    await aborted.abort();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [0, 1, 2, 3, 4, 5].map((i) => ({ key: String(i), value: `committed-${i}` })) });
    await committed.commit();
    await producer.disconnect();

    const consumer = k.consumer({ groupId: `smoke-${randomUUID()}`, readUncommitted: false });
    await consumer.connect();
    try {
      // The committed messages follow the aborted ones in every partition, so
      // once all 6 arrived, a visible aborted message would have arrived too.
      const values = await collect(consumer, topic, (v) => v.filter((x) => x.startsWith('committed-')).length === 6);
      expect(values.filter((v) => v.startsWith('committed-')).sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => `committed-${i}`));
      expect(values.filter((v) => v.startsWith('aborted-'))).toEqual([]);
    } finally {
      await consumer.disconnect();
    }
  });

  test.each(['a', 'b'] as const)('cluster %s writes and reads a key in every slot, across 3 masters with replicas', async (name) => {
    const cluster = clusterClient(name);
    try {
      const run = randomUUID().slice(0, 8);
      const slots = Array.from({ length: SLOT_COUNT }, (_, s) => s);
      const key = (slot: number) => `smoke:{${slotTag(slot)}}:${run}`;
      await Promise.all(slots.map((slot) => cluster.set(key(slot), `v${slot}`)));
      const values = await Promise.all(slots.map((slot) => cluster.get(key(slot))));
      expect(values).toEqual(slots.map((s) => `v${s}`));
      // The key really is in the slot we meant, per the server.
      expect(await cluster.call('CLUSTER', 'KEYSLOT', key(12345))).toBe(12345);
      // 3 masters, each with one replica, covering all slots (per CLUSTER SHARDS on the server).
      const shards = await readTopology(name === 'a' ? testEndpoints().redisA : testEndpoints().redisB);
      expect(shards).toHaveLength(3);
      expect(shards.map((s) => s.replicas.length)).toEqual([1, 1, 1]);
      expect(shards.flatMap((s) => s.slots).reduce((n, [a, b]) => n + b - a + 1, 0)).toBe(SLOT_COUNT);
      await Promise.all(slots.map((slot) => cluster.del(key(slot))));
    } finally {
      cluster.disconnect();
    }
  });
});
