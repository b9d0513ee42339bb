import type { Command } from 'commander';
import { loadConfig } from '../shared/config';
import { createLogger } from '../shared/logger';
import { createRegistry } from '../shared/metrics';
import { runService } from '../shared/service-runner';
import { sinkConfigSchema } from './config';
import { SinkService } from './sink-service';

/**
 * `tandem sink --config FILE`: applies the peers' changes to this DC's cluster
 * until SIGTERM/SIGINT (stop fetching, finish and commit the batch in flight,
 * disconnect) or a fatal error (exit 1). A configuration problem stops it at
 * start with one message.
 */
export async function runSink(configFile: string): Promise<void> {
  const config = loadConfig(sinkConfigSchema, configFile);
  const log = createLogger('sink', { level: config.log.level }).child({ dc: config.dc });
  const registry = createRegistry({ dc: config.dc });
  await runService({
    name: 'sink',
    log,
    registry,
    http: config.http,
    create: () => new SinkService(config, log, registry),
    ready: (service) => ({ ok: service.ready, detail: JSON.stringify(service.readiness) }),
    stopping: 'stopping: no more fetches; the batch in flight is applied and committed',
  });
}

export function registerSinkCommand(program: Command): void {
  program
    .command('sink')
    .description("run a DC's sink: apply the peers' tandem.<peer>.changes to the local cluster, exactly once, without loops")
    .requiredOption('--config <file>', 'YAML configuration (see docs/sink.md)')
    .action(async (opts: { config: string }) => {
      await runSink(opts.config);
    });
}
