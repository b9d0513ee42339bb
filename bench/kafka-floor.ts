/**
 * The Kafka leg alone: how long an event takes from being handed to a
 * transactional kafkajs producer until a read_committed kafkajs consumer
 * receives it, with the producer and consumer settings of the source and the
 * sink, and nothing else running (no Redis load, no source, no sink). It is
 * the floor under Tandem's end-to-end lag on this machine: the e2e lag adds
 * the replication stream, the apply and the target's own work to it.
 *
 *   npm run bench -- kafka-floor [--rates 1000,10000] [--seconds 20] [--warmup-s 10] [--partitions 64] [--event-bytes 200] [--fetch-max-wait-ms 5]
 *
 * The producer works like the source's publisher: the next transaction starts
 * as soon as the previous one committed, and carries everything buffered,
 * one record per partition holding that partition's events (format v2+). The
 * load appends events at the target rate every millisecond, over every
 * partition. Each event carries its hand-off time; the consumer measures
 * (receipt − hand-off) per event. Percentiles cover the measured window only.
 */
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { join } from 'node:path';
import { defaultStackSettings, stackDown, stackUp } from '../services/cli/stack/stack';
import { packageRoot } from '../services/shared/paths';
import { TRANSACTION_RETRY } from '../services/source/kafka/publisher';
import { log, nowMs, percentile, sleep } from './lib/e2e-load';
import { updateBenchmarksSection } from './lib/benchmarks-md';
import { arg, machineLine, printMachine } from './lib/machine';

const TOPIC = 'floor.changes';

interface FloorResult {
  rate: number;
  events: number;
  transactions: number;
  p50: number;
  p99: number;
  max: number;
}

async function measure(kafka: Kafka, o: { rate: number; seconds: number; warmupS: number; partitions: number; eventBytes: number; fetchMaxWaitMs: number }): Promise<FloorResult> {
  const producer: Producer = kafka.producer({ transactionalId: `floor-${o.rate}`, idempotent: true, maxInFlightRequests: 1, retry: TRANSACTION_RETRY });
  await producer.connect();
  const consumer = kafka.consumer({ groupId: `floor-${o.rate}-${Date.now()}`, readUncommitted: false, minBytes: 1, maxWaitTimeInMs: o.fetchMaxWaitMs, maxBytes: 1024 * 1024, maxBytesPerPartition: 256 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: false });
  const lat: number[] = [];
  let measuring = false;
  await consumer.run({
    // No offset commits: kafkajs' autoCommit would commit after every partition batch, one request each,
    // in the fetch loop; the sink commits once per cycle, off the critical path.
    autoCommit: false,
    partitionsConsumedConcurrently: o.partitions,
    eachBatch: async ({ batch }) => {
      const at = nowMs();
      for (const m of batch.messages) {
        const v = m.value!;
        for (let i = 0; i + 8 <= v.length; i += o.eventBytes) {
          const sent = v.readDoubleLE(i);
          if (measuring && sent > 0) lat.push(at - sent);
        }
      }
    },
  });
  await sleep(3000); // the group is joined and fetching before the load starts
  const buffered: number[][] = Array.from({ length: o.partitions }, () => []);
  let pending = 0;
  let next = 0;
  let running = true;
  let transactions = 0;
  const start = nowMs();
  const load = setInterval(() => {
    const due = Math.floor(((nowMs() - start) / 1000) * o.rate) - next;
    for (let i = 0; i < due; i++, next++) buffered[next % o.partitions].push(nowMs());
    pending += Math.max(0, due);
  }, 1);
  const loop = (async () => {
    while (running) {
      if (pending === 0) {
        await sleep(1);
        continue;
      }
      const messages = [];
      for (let p = 0; p < o.partitions; p++) {
        const times = buffered[p];
        if (times.length === 0) continue;
        const value = Buffer.alloc(times.length * o.eventBytes);
        times.forEach((t, i) => value.writeDoubleLE(t, i * o.eventBytes));
        messages.push({ topic: TOPIC, partition: p, value });
        buffered[p] = [];
      }
      pending = 0;
      const tx = await producer.transaction();
      await tx.sendBatch({ topicMessages: [{ topic: TOPIC, messages: messages.map(({ partition, value }) => ({ partition, value })) }] });
      await tx.commit();
      transactions++;
    }
  })();
  await sleep(o.warmupS * 1000);
  measuring = true;
  const txBefore = transactions;
  await sleep(o.seconds * 1000);
  measuring = false;
  running = false;
  clearInterval(load);
  await loop;
  await consumer.disconnect();
  await producer.disconnect();
  lat.sort((x, y) => x - y);
  return { rate: o.rate, events: lat.length, transactions: transactions - txBefore, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), max: lat[lat.length - 1] ?? NaN };
}

export async function main(argv: string[]): Promise<void> {
  const machine = printMachine('kafka-floor');
  const rates = arg(argv, '--rates', '1000,10000').split(',').map(Number);
  const o = {
    seconds: Number(arg(argv, '--seconds', '20')),
    warmupS: Number(arg(argv, '--warmup-s', '10')),
    partitions: Number(arg(argv, '--partitions', '64')),
    eventBytes: Math.max(8, Number(arg(argv, '--event-bytes', '200'))),
    fetchMaxWaitMs: Number(arg(argv, '--fetch-max-wait-ms', '5')),
  };
  const settings = defaultStackSettings({ stateDir: join(packageRoot(), '.tandem', 'bench-floor-stack'), kafkaPort: 22592, kafkaControllerPort: 22593, redisABasePort: 22500, redisBBasePort: 22600 });
  await stackDown(settings.stateDir, log);
  const stack = await stackUp(settings, log);
  try {
    const kafka = new Kafka({ clientId: 'kafka-floor', brokers: stack.endpoints.kafkaBrokers.split(","), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: o.partitions }], waitForLeaders: true });
    await admin.disconnect();
    const results: FloorResult[] = [];
    for (const rate of rates) {
      const r = await measure(kafka, { ...o, rate });
      log(`${rate}/s: ${JSON.stringify(r)}`);
      results.push(r);
    }
    const table = [
      '| events/s | events measured | transactions/s | p50 (ms) | p99 (ms) | max (ms) |',
      '|---:|---:|---:|---:|---:|---:|',
      ...results.map((r) => `| ${r.rate} | ${r.events} | ${(r.transactions / o.seconds).toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.max.toFixed(1)} |`),
    ].join('\n');
    console.log(`\n${table}`);
    if (!argv.includes('--no-write-md')) {
      updateBenchmarksSection(
        'The Kafka leg alone (kafka-floor)',
        [
          '`npm run bench -- kafka-floor` (`bench/kafka-floor.ts`): events handed to a transactional kafkajs producer with the source\'s',
          'settings (a transaction as soon as the previous one committed, one record per partition per transaction) until a',
          `read_committed kafkajs consumer with the sink's fetch settings receives them, both in the bench's one Node process;\n` +
            `nothing else runs. ${o.partitions} partitions,`,
          `${o.eventBytes}-byte events over every partition, fetch max wait ${o.fetchMaxWaitMs} ms, ${o.warmupS} s warm-up, ${o.seconds} s measured per rate.`,
          '',
          `${machineLine(machine)}.`,
          '',
          table,
        ].join('\n'),
      );
    }
  } finally {
    await stackDown(settings.stateDir, log);
  }
}
