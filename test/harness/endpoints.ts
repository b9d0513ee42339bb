import { Cluster } from 'ioredis';
import { seedNodes } from '../../services/cli/stack/check';

/**
 * What integration tests connect to. The global setup fills these env vars
 * (from the local stack, testcontainers, or the caller's own services).
 */
export interface TestEndpoints {
  kafkaBrokers: string[];
  redisA: { host: string; port: number }[];
  redisB: { host: string; port: number }[];
}

export function testEndpoints(): TestEndpoints {
  const { TANDEM_KAFKA_BROKERS: k, TANDEM_REDIS_A: a, TANDEM_REDIS_B: b } = process.env;
  if (!k || !a || !b) {
    throw new Error('integration tests need TANDEM_KAFKA_BROKERS, TANDEM_REDIS_A and TANDEM_REDIS_B (set by test/harness/global-setup.ts)');
  }
  return { kafkaBrokers: k.split(','), redisA: seedNodes(a), redisB: seedNodes(b) };
}

/**
 * A cluster client. Auto-pipelining is off by default: ioredis then misroutes
 * XREADGROUP (it takes the group name for the key) and does not follow the
 * MOVED inside a pipeline.
 */
export function clusterClient(which: 'a' | 'b', opts: { autoPipelining?: boolean } = {}): Cluster {
  const e = testEndpoints();
  return new Cluster(which === 'a' ? e.redisA : e.redisB, { enableAutoPipelining: opts.autoPipelining ?? false });
}
