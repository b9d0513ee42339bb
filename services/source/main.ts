import { Command } from 'commander';
import { loadConfig } from '../shared/config';
import { createLogger } from '../shared/logger';
import { createRegistry } from '../shared/metrics';
import { runService } from '../shared/service-runner';
import { sourceConfigSchema } from './config';
import { SourceService } from './source-service';

/**
 * `tandem source --config FILE`: runs the source connector until SIGTERM or
 * SIGINT (commit what is buffered, then close) or a fatal error (exit 1).
 * A configuration problem stops it at start with one message.
 */
export async function runSource(configFile: string): Promise<void> {
  const config = loadConfig(sourceConfigSchema, configFile);
  const log = createLogger('source', { level: config.log.level }).child({ dc: config.dc });
  const registry = createRegistry({ dc: config.dc });
  await runService({
    name: 'source',
    log,
    registry,
    http: config.http,
    // The health server starts first: its port is the default REPLCONF listening-port.
    create: (httpPort) => new SourceService(config, log, registry, config.source.listeningPort ?? httpPort),
    ready: (service, started) => ({ ok: started && service.ready, detail: JSON.stringify(service.linkStates) }),
    stopping: 'stopping: links stop reading, buffered events are committed',
  });
}

export function registerSourceCommand(program: Command): void {
  program
    .command('source')
    .description("run a DC's source connector: replicate every master of the local cluster into tandem.<dc>.changes")
    .requiredOption('--config <file>', 'YAML configuration (see docs/configuration.md)')
    .action(async (opts: { config: string }) => {
      await runSource(opts.config);
    });
}
