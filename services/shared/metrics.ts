import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from './logger';

/**
 * One Prometheus registry per process, and the HTTP server that exposes it:
 * `/metrics` (text format), `/healthz` (the process is alive and its loops
 * turn) and `/readyz` (it does its job: e.g. every replica link streams, or the
 * sink has its partitions). Each service registers its own metrics on the
 * registry; docs/metrics.md is the catalogue.
 */
export function createRegistry(opts: { dc?: string; prefix?: string } = {}): Registry {
  const registry = new Registry();
  // Every series carries the process's DC, so one Prometheus can scrape all
  // DCs and a dashboard can tell `a`'s sink from `b`'s without relabelling.
  if (opts.dc) registry.setDefaultLabels({ dc: opts.dc });
  const prefix = opts.prefix ?? 'tandem_';
  collectDefaultMetrics({ register: registry, prefix });
  return registry;
}

export interface HealthCheck {
  /** Alive: answering false makes an orchestrator restart the process. */
  live(): { ok: boolean; detail?: string };
  /** Ready: answering false takes it out of service until it recovers. */
  ready(): { ok: boolean; detail?: string };
}

export interface HttpEndpoint {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function startHttpServer(
  registry: Registry,
  health: HealthCheck,
  opts: { host: string; port: number },
  log: Logger,
): Promise<HttpEndpoint> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET') return reply(405, 'method not allowed\n');
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => reply(200, text, registry.contentType),
        (err: unknown) => {
          log.error({ err }, 'cannot render metrics');
          reply(500, 'cannot render metrics\n');
        },
      );
      return;
    }
    if (path === '/healthz' || path === '/readyz') {
      const r = path === '/healthz' ? health.live() : health.ready();
      return reply(r.ok ? 200 : 503, `${r.ok ? 'ok' : 'not ok'}${r.detail ? `: ${r.detail}` : ''}\n`);
    }
    reply(404, 'not found: try /metrics, /healthz or /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ host: opts.host, port }, 'serving /metrics, /healthz and /readyz');
  return {
    server,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
