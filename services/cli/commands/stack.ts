import { Command } from 'commander';
import { defaultStackSettings, stackDown, stackStatus, stackUp } from '../stack/stack';
import { checkStack } from '../stack/check';

/** `tandem stack up|down|status|check`: the local stack of real Kafka and two real Redis Clusters. */
export function registerStackCommand(program: Command): void {
  const stack = program
    .command('stack')
    .description('run a local Kafka (KRaft) and two Redis Clusters (a, b) as processes on loopback')
    .option('--state-dir <dir>', 'where data, logs and pids live (env TANDEM_STATE_DIR; default .tandem/stack)');

  const settings = () => defaultStackSettings(stack.opts().stateDir ? { stateDir: stack.opts().stateDir } : {});
  const log = (line: string) => process.stderr.write(`${line}\n`);

  stack
    .command('up')
    .description('start Kafka and both clusters; returns when all are ready')
    .action(async () => {
      const state = await stackUp(settings(), log);
      process.stdout.write(
        `${JSON.stringify({ kafkaBrokers: state.endpoints.kafkaBrokers, redisA: state.endpoints.redisA, redisB: state.endpoints.redisB }, null, 2)}\n`,
      );
    });

  stack
    .command('down')
    .description('stop every process the stack started')
    .action(async () => {
      await stackDown(settings().stateDir, log);
    });

  stack
    .command('status')
    .description('tell what runs where')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const { state, processes } = await stackStatus(settings().stateDir);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ endpoints: state?.endpoints, processes }, null, 2)}\n`);
        return;
      }
      if (!state) {
        process.stdout.write(`no stack recorded in ${settings().stateDir}\n`);
        return;
      }
      process.stdout.write(`stack started ${state.startedAt} (state in ${state.settings.stateDir})\n`);
      for (const p of processes) {
        process.stdout.write(`${p.running ? 'running' : 'STOPPED'}  ${p.name.padEnd(16)} pid ${String(p.pid).padEnd(8)} ${p.detail}\n`);
      }
      const running = processes.filter((p) => p.running).length;
      process.stdout.write(`${running}/${processes.length} processes running\n`);
      if (running < processes.length) process.exitCode = 1;
    });

  stack
    .command('check')
    .description('prove the stack works: write and read keys on both clusters, commit and read a Kafka transaction')
    .action(async () => {
      const state = (await stackStatus(settings().stateDir)).state;
      if (!state) throw new Error(`no stack recorded in ${settings().stateDir}; run \`tandem stack up\` first`);
      const lines = await checkStack(state.endpoints);
      for (const l of lines) process.stdout.write(`${l}\n`);
    });
}
