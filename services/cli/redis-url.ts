import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { Command } from 'commander';
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { TandemError, errorMessage } from '../shared/errors';

/**
 * Redis targets given on the command line:
 *
 *   redis[s]://[user[:password]@]host:port[,host:port…][/db]
 *
 * Several host:port pairs are cluster seeds. A single node may be a cluster
 * member or a standalone server: `openRedisTarget` asks it (INFO cluster) and
 * connects accordingly. `rediss://` turns TLS on. A password in the URL is
 * accepted for convenience but never printed: `display` and `redactUrls` hide
 * it, and every error message built here uses them.
 *
 * TLS uses the system's CAs unless `--tls-ca` gives a bundle; `--tls-cert` and
 * `--tls-key` present a client certificate (nodes with tls-auth-clients yes).
 */
export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
}

export interface RedisTarget {
  tls: boolean;
  /** CA bundle and client certificate for a rediss:// target, read from the --tls-* files. */
  tlsOptions?: ConnectionOptions;
  username?: string;
  password?: string;
  seeds: { host: string; port: number }[];
  /** The URL with any password replaced by `***`: the only form that is ever printed. */
  display: string;
  /** `/db` of a standalone node, where the caller allows one (replay --target). */
  db?: number;
}

const URL_SHAPE = /^(rediss?):\/\/(?:([^@/]*)@)?([^/?#]+)(?:\/(\d{0,2}))?$/;

export function parseRedisUrl(url: string, o: { passwordEnv?: string; env?: NodeJS.ProcessEnv; tls?: TlsFiles; allowDb?: boolean } = {}): RedisTarget {
  const m = URL_SHAPE.exec(url.trim());
  if (!m) throw usage(`expected redis://[user[:password]@]host:port[,host:port…]${o.allowDb ? '[/db]' : ''} or rediss://…, got "${redactUrls(url)}"`);
  const [, scheme, auth, hosts, dbText] = m;
  const db = dbText === undefined || dbText === '' ? undefined : Number(dbText);
  if (db !== undefined && !o.allowDb) throw usage(`a database number is not taken here (Redis Cluster has only db 0), got "${redactUrls(url)}"`);
  if (db !== undefined && hosts.includes(',')) throw usage(`a database number needs a single host:port (a standalone node), got "${redactUrls(url)}"`);
  let username: string | undefined;
  let password: string | undefined;
  if (auth !== undefined) {
    const colon = auth.indexOf(':');
    const user = decode(colon < 0 ? auth : auth.slice(0, colon));
    username = user === '' ? undefined : user;
    if (colon >= 0) password = decode(auth.slice(colon + 1));
  }
  const seeds = hosts.split(',').map((hp) => {
    const at = hp.lastIndexOf(':');
    const host = (at < 0 ? hp : hp.slice(0, at)).replace(/^\[(.*)\]$/, '$1');
    const portText = at < 0 ? '6379' : hp.slice(at + 1);
    const port = Number(portText);
    if (host === '' || !/^\d+$/.test(portText) || port < 1 || port > 65535) {
      throw usage(`bad host:port "${hp}" in ${redactUrls(url)}`);
    }
    return { host, port };
  });
  if (o.passwordEnv !== undefined) {
    const value = (o.env ?? process.env)[o.passwordEnv];
    if (value === undefined) throw usage(`environment variable ${o.passwordEnv} (the password) is not set`);
    password = value;
  }
  const userPart = username !== undefined || password !== undefined ? `${username ?? ''}${password !== undefined ? ':***' : ''}@` : '';
  const display = `${scheme}://${userPart}${hosts}${db !== undefined ? `/${db}` : ''}`;
  const tlsOptions = readTlsFiles(o.tls ?? {}, scheme === 'rediss', display);
  return { tls: scheme === 'rediss', tlsOptions, username, password, seeds, display, db };
}

/** Adds --tls-ca, --tls-cert and --tls-key to a command, for its rediss:// URLs. */
export function addTlsOptions(command: Command, what: string): Command {
  return command
    .option('--tls-ca <file>', `PEM CA bundle for ${what} (default: the system CAs)`)
    .option('--tls-cert <file>', `PEM client certificate for ${what}, when the nodes ask for one`)
    .option('--tls-key <file>', 'the private key of --tls-cert');
}

export interface TlsCliOptions {
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

export function tlsFilesOf(opts: TlsCliOptions): TlsFiles {
  return { ca: opts.tlsCa, cert: opts.tlsCert, key: opts.tlsKey };
}

/** The TLS options the --tls-* files give `url` (a rediss:// one), or undefined when none is given. */
export function tlsOptionsFor(url: string | undefined, opts: TlsCliOptions): ConnectionOptions | undefined {
  return readTlsFiles(tlsFilesOf(opts), url?.startsWith('rediss:') === true, redactUrls(url ?? 'redis://'));
}

/**
 * The TLS options of a rediss:// URL from the --tls-* files, or undefined when
 * none is given. Files for a plain redis:// URL are a usage error, not ignored.
 */
function readTlsFiles(files: TlsFiles, tls: boolean, display: string): ConnectionOptions | undefined {
  const given = Object.entries(files).filter(([, v]) => v !== undefined);
  if (given.length === 0) return undefined;
  if (!tls) throw usage(`--tls-${given[0][0]} is for TLS targets: write ${display.replace(/^redis:/, 'rediss:')}`);
  if ((files.cert === undefined) !== (files.key === undefined)) throw usage('--tls-cert and --tls-key go together (the client certificate and its key)');
  const read = (what: string, path: string | undefined) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw usage(`cannot read --tls-${what} ${path}: ${errorMessage(err)}`);
    }
  };
  return { ca: read('ca', files.ca), cert: read('cert', files.cert), key: read('key', files.key) };
}

/** Hides the password of every redis:// or rediss:// URL in a text (errors, logs). */
export function redactUrls(text: string): string {
  return text.replace(/(rediss?:\/\/[^:@\s/]*):[^@\s]*@/g, '$1:***@');
}

/** ioredis options for one node of the target (auth, TLS, fail fast: a CLI must not retry forever). */
export function nodeOptions(t: RedisTarget): RedisOptions {
  return {
    username: t.username,
    password: t.password,
    tls: t.tls ? (t.tlsOptions ?? {}) : undefined,
    connectTimeout: 5000,
    maxRetriesPerRequest: 2,
    lazyConnect: true,
    retryStrategy: (times) => (times > 3 ? null : 200 * times),
  };
}

export type RedisClient = Redis | Cluster;

/** A connected target: a cluster, or a standalone server. */
export interface OpenTarget {
  target: RedisTarget;
  mode: 'cluster' | 'standalone';
  client: RedisClient;
  /** Clients of the masters (the cluster's, or the one server): what SCAN and INFO replication run on. */
  masters(): Redis[];
  close(): void;
}

export async function openRedisTarget(t: RedisTarget, name = 'redis'): Promise<OpenTarget> {
  let lastError: unknown;
  const fail = (err: unknown) =>
    new TandemError('REDIS_UNAVAILABLE', `cannot connect to ${name} (${t.display}): ${redactUrls(errorMessage(lastError ?? err))}`, { cause: err });
  const probe = new Redis({ ...t.seeds[0], ...nodeOptions(t), retryStrategy: () => null });
  // Without a listener ioredis prints every connection error to stderr; keep the last one for the message.
  probe.on('error', (err) => (lastError = err));
  let clusterEnabled: boolean;
  try {
    await probe.connect();
    clusterEnabled = /^cluster_enabled:1/m.test(await probe.info('cluster'));
  } catch (err) {
    probe.disconnect();
    throw fail(err);
  }
  if (!clusterEnabled) {
    if (t.seeds.length > 1) {
      probe.disconnect();
      throw new TandemError('USAGE', `${name} (${t.display}): ${t.seeds[0].host}:${t.seeds[0].port} is not in cluster mode, so give a single host:port`);
    }
    probe.on('error', (err) => (lastError = err));
    return { target: t, mode: 'standalone', client: probe, masters: () => [probe], close: () => probe.disconnect() };
  }
  probe.disconnect();
  const cluster = new Cluster(t.seeds, {
    redisOptions: nodeOptions(t),
    lazyConnect: true,
    enableOfflineQueue: true,
    clusterRetryStrategy: (times) => (times > 3 ? null : 200 * times),
    slotsRefreshTimeout: 5000,
  });
  cluster.on('error', (err) => (lastError = err));
  try {
    await cluster.connect();
  } catch (err) {
    cluster.disconnect();
    throw fail(err);
  }
  return { target: t, mode: 'cluster', client: cluster, masters: () => cluster.nodes('master'), close: () => cluster.disconnect() };
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // not percent-encoded: take it literally
  }
}

function usage(message: string): TandemError {
  return new TandemError('USAGE', message);
}
