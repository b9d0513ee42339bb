import type { Registry } from 'prom-client';
import type { Logger } from './logger';
import { startHttpServer } from './metrics';

/**
 * The lifecycle every long-running Tandem service shares (`tandem source`,
 * `tandem sink`):
 *
 *   health server up → service built (it may need the server's port) →
 *   start → run until the service ends (fatal) or SIGTERM/SIGINT →
 *   stop (the service's own orderly shutdown) → health server down
 *
 * A failure to start or a fatal end is logged with its code, the service is
 * stopped as far as it can be, and the error is rethrown (the CLI exits 1).
 */
export interface Runnable {
  /** Resolves once running; `done` settles when the service ends on its own (rejects on a fatal error). */
  start(): Promise<{ done: Promise<void> }>;
  stop(): Promise<void>;
}

export interface ServiceRun<S extends Runnable> {
  name: string;
  log: Logger;
  registry: Registry;
  http: { host: string; port: number };
  /** Builds the service once the health server listens on `httpPort`. */
  create(httpPort: number): S;
  /** Readiness for /ready; `started`: start() has resolved. */
  ready(service: S, started: boolean): { ok: boolean; detail?: string };
  /** Logged at a stop signal: what the service finishes before it exits. */
  stopping: string;
}

export async function runService<S extends Runnable>(o: ServiceRun<S>): Promise<void> {
  const { log } = o;
  let service: S | undefined;
  let started = false;
  const http = await startHttpServer(
    o.registry,
    {
      live: () => ({ ok: true }),
      ready: () => (service === undefined ? { ok: false } : o.ready(service, started)),
    },
    o.http,
    log,
  );
  let stopping: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  const signalled = new Promise<void>((resolve) => (wake = resolve));
  try {
    const s = (service = o.create(http.port));
    const stop = (signal: string) => {
      log.info({ signal }, o.stopping);
      stopping ??= s.stop();
      wake?.();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    const { done } = await s.start();
    started = true;
    await Promise.race([done, signalled]);
    if (stopping) await stopping;
    log.info(`${o.name} stopped`);
  } catch (err) {
    log.error({ err }, `${o.name} failed`);
    await service?.stop().catch((stopErr: unknown) => log.warn({ err: stopErr }, 'error while stopping after a failure'));
    throw err;
  } finally {
    await http.close();
  }
}
