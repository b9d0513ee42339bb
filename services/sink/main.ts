import type { Command } from 'commander';
import { loadConfig } from '../shared/config';
import { TandemError, errorMessage } from '../shared/errors';
import { createLogger } from '../shared/logger';
import { createRegistry, startHttpServer } from '../shared/metrics';
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
  const service = new SinkService(config, log, registry);
  const http = await startHttpServer(
    registry,
    {
      live: () => ({ ok: true }),
      ready: () => ({ ok: service.ready, detail: JSON.stringify(service.readiness) }),
    },
    config.http,
    log,
  );
  let stopping: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => (wake = resolve));
  const stop = (signal: string) => {
    log.info({ signal }, 'stopping: no more fetches; the batch in flight is applied and committed');
    stopping ??= service.stop();
    wake?.();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  try {
    const { done } = await service.start();
    await Promise.race([done, stopped]);
    if (stopping) await stopping;
    log.info('sink stopped');
  } catch (err) {
    log.error({ err: errorMessage(err), code: err instanceof TandemError ? err.code : undefined }, 'sink failed');
    await service.stop().catch((stopErr: unknown) => log.warn({ err: errorMessage(stopErr) }, 'error while stopping after a failure'));
    throw err;
  } finally {
    await http.close();
  }
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
