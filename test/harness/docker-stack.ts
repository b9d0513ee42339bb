import type { StartedTestContainer } from 'testcontainers';
import { TEST_PORTS } from './global-setup';

/**
 * The test stack from testcontainers, for machines with a Docker engine
 * (TANDEM_TEST_DOCKER=1). It mirrors the local stack: one Kafka (official
 * apache/kafka image, KRaft) and two Redis Clusters of 3 masters + 3 replicas
 * (official redis image), on the same loopback ports as the local test stack.
 * Containers use host networking so that cluster nodes announce 127.0.0.1
 * addresses that the tests can reach, exactly like the process-based stack.
 *
 * Untested where Docker is absent (as on the CI machine); nothing requires it.
 */
const KAFKA_IMAGE = 'apache/kafka:4.1.1';
const REDIS_IMAGE = 'redis:7.0';
const started: StartedTestContainer[] = [];

function redisClusterScript(basePort: number): string {
  const ports = Array.from({ length: 6 }, (_, i) => basePort + i);
  const servers = ports
    .map((p) => `redis-server --port ${p} --bind 127.0.0.1 --cluster-enabled yes --cluster-config-file /tmp/nodes-${p}.conf --cluster-node-timeout 3000 --save '' --appendonly no --repl-backlog-size 64mb --repl-diskless-sync-delay 0 --daemonize yes`)
    .join(' && ');
  const create = `redis-cli --cluster create ${ports.map((p) => `127.0.0.1:${p}`).join(' ')} --cluster-replicas 1 --cluster-yes`;
  return `${servers} && sleep 1 && ${create} && echo CLUSTER-READY && sleep infinity`;
}

export async function startDockerStack(log: (line: string) => void): Promise<{ kafkaBrokers: string; redisA: string; redisB: string }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  log(`starting ${KAFKA_IMAGE} and two ${REDIS_IMAGE} clusters with testcontainers`);
  const kafka = await new GenericContainer(KAFKA_IMAGE)
    .withNetworkMode('host')
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_CONTROLLER_QUORUM_VOTERS: `1@127.0.0.1:${TEST_PORTS.kafka + 1}`,
      KAFKA_LISTENERS: `PLAINTEXT://127.0.0.1:${TEST_PORTS.kafka},CONTROLLER://127.0.0.1:${TEST_PORTS.kafka + 1}`,
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${TEST_PORTS.kafka}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  started.push(kafka);
  for (const base of [TEST_PORTS.redisA, TEST_PORTS.redisB]) {
    const c = await new GenericContainer(REDIS_IMAGE)
      .withNetworkMode('host')
      .withCommand(['sh', '-c', redisClusterScript(base)])
      .withWaitStrategy(Wait.forLogMessage(/CLUSTER-READY/))
      .start();
    started.push(c);
  }
  const { waitForClusterOk } = await import('../../services/cli/stack/redis-cluster');
  for (const [name, basePort] of [['a', TEST_PORTS.redisA], ['b', TEST_PORTS.redisB]] as const) {
    await waitForClusterOk({ name, basePort, masters: 3, replicasPerMaster: 1, dir: '' }, 120_000);
  }
  const seeds = (base: number) => Array.from({ length: 6 }, (_, i) => `127.0.0.1:${base + i}`).join(',');
  return { kafkaBrokers: `127.0.0.1:${TEST_PORTS.kafka}`, redisA: seeds(TEST_PORTS.redisA), redisB: seeds(TEST_PORTS.redisB) };
}

export async function stopDockerStack(log: (line: string) => void): Promise<void> {
  log(`stopping ${started.length} container(s)`);
  await Promise.all(started.splice(0).map((c) => c.stop()));
}
