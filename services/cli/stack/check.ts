import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { SLOT_COUNT } from '../../shared/slot';
import { slotTag } from '../../shared/slot-tags';
import { TandemError } from '../../shared/errors';
import type { StackEndpoints } from './stack';

/**
 * A visible end-to-end check of the local stack: one key in every slot of each
 * cluster written and read back, and a Kafka transaction committed and read by
 * a read_committed consumer group.
 */
export function seedNodes(seeds: string): { host: string; port: number }[] {
  return seeds.split(',').map((s) => {
    const [host, port] = s.trim().split(':');
    return { host, port: Number(port) };
  });
}

async function checkCluster(name: string, seeds: string): Promise<string> {
  // Auto-pipelining batches the 16384 commands per node; a Cluster pipeline() must stay in one slot.
  const cluster = new Cluster(seedNodes(seeds), { enableReadyCheck: true, enableAutoPipelining: true });
  const started = Date.now();
  try {
    const run = randomUUID().slice(0, 8);
    const slots = Array.from({ length: SLOT_COUNT }, (_, slot) => slot);
    const key = (slot: number) => `check:{${slotTag(slot)}}:${run}`;
    await Promise.all(slots.map((slot) => cluster.set(key(slot), String(slot), 'EX', 60)));
    const values = await Promise.all(slots.map((slot) => cluster.get(key(slot))));
    const good = values.filter((v, slot) => v === String(slot)).length;
    if (good !== SLOT_COUNT) throw new TandemError('REDIS_UNAVAILABLE', `cluster ${name}: only ${good}/${SLOT_COUNT} keys read back`);
    const masters = cluster.nodes('master').length;
    return `cluster ${name}: wrote and read back one key in each of ${SLOT_COUNT} slots across ${masters} masters (${Date.now() - started} ms)`;
  } finally {
    cluster.disconnect();
  }
}

async function checkKafka(brokers: string): Promise<string> {
  const kafka = new Kafka({ clientId: 'tandem-check', brokers: [brokers], logLevel: logLevel.NOTHING });
  const topic = 'tandem.stack.ready';
  const producer = kafka.producer({ transactionalId: `tandem-check-${randomUUID()}`, idempotent: true, maxInFlightRequests: 1 });
  const consumer = kafka.consumer({ groupId: `tandem-check-${randomUUID()}`, readUncommitted: false });
  const marker = randomUUID();
  try {
    await producer.connect();
    const tx = await producer.transaction();
    await tx.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `${marker}:${i}` })) });
    await tx.commit();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TandemError('KAFKA_UNAVAILABLE', `read only ${seen}/10 committed messages within 30 s`)), 30_000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            if (message.value?.toString().startsWith(marker) && ++seen === 10) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
    return `kafka ${brokers}: a transaction of 10 messages committed and read by a read_committed consumer group`;
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
  }
}

export async function checkStack(e: StackEndpoints): Promise<string[]> {
  return Promise.all([checkKafka(e.kafkaBrokers), checkCluster('a', e.redisA), checkCluster('b', e.redisB)]);
}
