import { join } from 'node:path';
import { defaultStackSettings, stackDown, stackUp } from '../../services/cli/stack/stack';
import { packageRoot } from '../../services/shared/paths';

/**
 * Starts the services the integration tests need, once per jest run:
 * 1. TANDEM_KAFKA_BROKERS + TANDEM_REDIS_A + TANDEM_REDIS_B already set: use those.
 * 2. TANDEM_TEST_DOCKER=1: the same stack from testcontainers (needs a Docker engine).
 * 3. Otherwise: the local stack (real Kafka and Redis processes), on test ports
 *    and in its own state folder so that it never meets a running demo.
 * Workers inherit process.env, so setting it here reaches every test file.
 */
/**
 * TANDEM_TEST_PORT_OFFSET shifts every port of the test stack (and names its
 * own state folder), so that two test runs on one machine never share a stack.
 */
const PORT_OFFSET = Number(process.env.TANDEM_TEST_PORT_OFFSET ?? 0);
export const TEST_PORTS = { kafka: 24092, redisA: 21000, redisB: 21100 } as const;
export const TEST_STATE_DIR = join(packageRoot(), '.tandem', PORT_OFFSET ? `test-stack-${PORT_OFFSET}` : 'test-stack');

export default async function globalSetup(): Promise<void> {
  const log = (line: string) => process.stderr.write(`[test stack] ${line}\n`);
  if (process.env.TANDEM_KAFKA_BROKERS && process.env.TANDEM_REDIS_A && process.env.TANDEM_REDIS_B) {
    log(`using given services: Kafka ${process.env.TANDEM_KAFKA_BROKERS}`);
    return;
  }
  if (process.env.TANDEM_TEST_DOCKER === '1') {
    const { startDockerStack } = await import('./docker-stack');
    const e = await startDockerStack(log);
    Object.assign(process.env, { TANDEM_KAFKA_BROKERS: e.kafkaBrokers, TANDEM_REDIS_A: e.redisA, TANDEM_REDIS_B: e.redisB });
    process.env.TANDEM_TEST_STACK_STARTED = 'docker';
    return;
  }
  // A run that died earlier may have left its stack behind; stop it first.
  await stackDown(TEST_STATE_DIR, log);
  const settings = defaultStackSettings({
    stateDir: TEST_STATE_DIR,
    // Every port, cluster bus (port + 10000) included, stays below 32768: a
    // port in Linux's ephemeral range (32768-60999) may already be the local
    // end of some outgoing connection, and the server then fails to bind.
    kafkaPort: TEST_PORTS.kafka + PORT_OFFSET,
    kafkaControllerPort: TEST_PORTS.kafka + 1 + PORT_OFFSET,
    redisABasePort: TEST_PORTS.redisA + PORT_OFFSET,
    redisBBasePort: TEST_PORTS.redisB + PORT_OFFSET,
  });
  const state = await stackUp(settings, log);
  process.env.TANDEM_TEST_STACK_STARTED = 'local';
  Object.assign(process.env, {
    TANDEM_KAFKA_BROKERS: state.endpoints.kafkaBrokers,
    TANDEM_REDIS_A: state.endpoints.redisA,
    TANDEM_REDIS_B: state.endpoints.redisB,
  });
}
