import { stackDown } from '../../services/cli/stack/stack';
import { TEST_STATE_DIR } from './global-setup';

/** Stops whatever the global setup started, and nothing it was given. */
export default async function globalTeardown(): Promise<void> {
  const log = (line: string) => process.stderr.write(`[test stack] ${line}\n`);
  const started = process.env.TANDEM_TEST_STACK_STARTED;
  if (started === 'docker') {
    const { stopDockerStack } = await import('./docker-stack');
    await stopDockerStack(log);
  } else if (started === 'local') {
    await stackDown(TEST_STATE_DIR, log);
  }
}
