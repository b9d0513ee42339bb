import { Command } from 'commander';
import { defaultStackSettings, readStackState, stackDown, stackUp } from '../stack/stack';
import { checkStack } from '../stack/check';
import { isOurProcess } from '../stack/processes';

/**
 * `tandem demo`: the README's main command. For now it starts the local stack
 * and shows that Kafka and both clusters work; the live two-DC replication
 * demo (sources and sinks for both DCs) replaces the check once they exist.
 */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('start the local stack (Kafka + Redis Clusters a and b) and show that it works')
    .option('--keep', 'leave the stack running afterwards (stop it with `tandem stack down`)')
    .action(async (opts: { keep?: boolean }) => {
      const settings = defaultStackSettings();
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const existing = readStackState(settings.stateDir);
      const running = existing?.processes.every((p) => isOurProcess(p.pid, p.marker)) ?? false;
      const state = running && existing ? existing : await stackUp(settings, log);
      try {
        for (const line of await checkStack(state.endpoints)) process.stdout.write(`ok  ${line}\n`);
        process.stdout.write(`\nKafka: ${state.endpoints.kafkaBrokers}\ncluster a: ${state.endpoints.redisA}\ncluster b: ${state.endpoints.redisB}\n`);
      } finally {
        if (!opts.keep && !running) await stackDown(settings.stateDir, log);
      }
    });
}
