import { Command } from 'commander';
import { loadConfig } from '../shared/config';
import { TandemError, errorMessage } from '../shared/errors';
import { createLogger } from '../shared/logger';
import { createRegistry, startHttpServer } from '../shared/metrics';
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
  // The health server starts first (its port is the default REPLCONF listening-port), the service after.
  const holder: { service?: SourceService } = {};
  let started = false;
  const http = await startHttpServer(
    registry,
    {
      live: () => ({ ok: true }),
      ready: () => ({ ok: started && (holder.service?.ready ?? false), detail: JSON.stringify(holder.service?.linkStates ?? {}) }),
    },
    config.http,
    log,
  );
  const service = new SourceService(config, log, registry, config.source.listeningPort ?? http.port);
  holder.service = service;
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) => {
    log.info({ signal }, 'stopping: links stop reading, buffered events are committed');
    stopping ??= service.stop();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  try {
    const { done } = await service.start();
    started = true;
    await Promise.race([done, new Promise<void>((resolve) => {
      const wait = setInterval(() => {
        if (stopping) {
          clearInterval(wait);
          resolve();
        }
      }, 100);
    })]);
    if (stopping) await stopping;
    log.info('source stopped');
  } catch (err) {
    log.error({ err: errorMessage(err), code: err instanceof TandemError ? err.code : undefined }, 'source failed');
    await service.stop().catch((stopErr: unknown) => log.warn({ err: errorMessage(stopErr) }, 'error while stopping after a failure'));
    throw err;
  } finally {
    await http.close();
  }
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
