import { readFileSync } from 'node:fs';
import Redis, { type RedisOptions } from 'ioredis';
import { resolveSecret } from './config';
import type { BaseConfig } from './config-schema';
import { TandemError, errorMessage } from './errors';

/** The `redis` config section: the seeds, user, password and TLS of the local cluster. */
export type RedisSettings = BaseConfig['redis'];

/** The `host:port` entries of `redis.nodes`. */
export function parseSeeds(nodes: string[]): { host: string; port: number }[] {
  return nodes.map((n) => {
    const i = n.lastIndexOf(':');
    return { host: n.slice(0, i), port: Number(n.slice(i + 1)) };
  });
}

/** ioredis options (user, password, TLS) from the `redis` section, its secrets resolved. */
export function redisOptionsOf(r: RedisSettings): RedisOptions {
  return {
    username: r.username,
    password: r.password ? resolveSecret(r.password, 'redis.password') : undefined,
    tls: r.tls
      ? {
          ca: r.tls.ca ? readFileSync(r.tls.ca) : undefined,
          cert: r.tls.cert ? readFileSync(r.tls.cert) : undefined,
          key: r.tls.key ? resolveSecret(r.tls.key, 'redis.tls.key') : undefined,
          rejectUnauthorized: r.tls.rejectUnauthorized,
        }
      : undefined,
  };
}

/**
 * A single-node ioredis connection for one-off commands (topology, INFO,
 * COMMAND), connected before it is returned. ioredis reports a refused AUTH
 * only on its 'error' event and then fails the command with a bare
 * "Connection is closed"; this keeps that first error and turns it into one
 * clear, non-retriable message naming the node and the user.
 */
const AUTH_FAILURE = /WRONGPASS|NOAUTH|NOPERM|invalid username-password|AUTH failed|ERR AUTH/i;

/** True when a Redis error text means refused credentials or a missing ACL permission. */
export function isRedisAuthFailure(text: string): boolean {
  return AUTH_FAILURE.test(text);
}

export async function connectNode(host: string, port: number, options: RedisOptions = {}): Promise<Redis> {
  let firstError: unknown;
  const r = new Redis({ ...options, host, port, lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 3000 });
  r.on('error', (err: unknown) => {
    firstError ??= err; // kept for the message below
  });
  try {
    await r.connect();
    await r.ping();
    return r;
  } catch (err) {
    r.disconnect();
    const cause = firstError ?? err;
    const text = errorMessage(cause);
    if (AUTH_FAILURE.test(text)) {
      throw new TandemError(
        'REPL_AUTH',
        `authentication to Redis ${host}:${port} as ${options.username ?? 'default'} failed: ${text} (check redis.username and redis.password)`,
        { cause },
      );
    }
    throw TandemError.wrap('REDIS_UNAVAILABLE', `cannot connect to Redis ${host}:${port}`, cause, true);
  }
}
