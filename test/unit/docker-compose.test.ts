import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { defaultStackSettings } from '../../services/cli/stack/stack';
import { KAFKA_VERSION } from '../../services/cli/stack/kafka';

/** docker-compose.yml is the Docker path to the same stack as `tandem stack up`; it must stay in step. */
interface Service {
  image: string;
  network_mode?: string;
  environment?: Record<string, string>;
  command?: string[];
}
const compose = parse(readFileSync(join(__dirname, '../../docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const local = defaultStackSettings();

describe('docker-compose.yml', () => {
  test('has Kafka and the two Redis Clusters, from the official images', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['kafka', 'redis-a', 'redis-b']);
    expect(compose.services.kafka.image).toBe(`apache/kafka:${KAFKA_VERSION}`);
    expect(compose.services['redis-a'].image).toMatch(/^redis:7/);
    expect(compose.services['redis-b'].image).toMatch(/^redis:7/);
  });

  test('Kafka is a single KRaft broker+controller on the local stack ports, with replication factor 1 for internal topics', () => {
    const env = compose.services.kafka.environment ?? {};
    expect(env.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(env.KAFKA_ADVERTISED_LISTENERS).toBe(`PLAINTEXT://127.0.0.1:${local.kafkaPort}`);
    expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(`1@127.0.0.1:${local.kafkaControllerPort}`);
    expect(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe('1');
    expect(env.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR).toBe('1');
    expect(env.KAFKA_TRANSACTION_STATE_LOG_MIN_ISR).toBe('1');
  });

  test.each([
    ['redis-a', local.redisABasePort],
    ['redis-b', local.redisBBasePort],
  ])('%s runs 6 cluster nodes on the local stack ports and creates 3 masters + 3 replicas', (name, base) => {
    const svc = compose.services[name];
    expect(svc.network_mode).toBe('host');
    const script = (svc.command ?? []).join(' ');
    const ports = Array.from({ length: 6 }, (_, i) => base + i);
    expect(script).toContain(`for p in ${ports.join(' ')};`);
    expect(script).toContain('--cluster-enabled yes');
    expect(script).toContain(`--cluster create ${ports.map((p) => `127.0.0.1:${p}`).join(' ')} --cluster-replicas 1`);
  });
});
