import { readFileSync } from 'node:fs';
import Redis, { type RedisOptions } from 'ioredis';
import { resolveSecret } from './config';
import type { BaseConfig } from './config-schema';
import { TandemError, errorMessage } from './errors';
import { isAuthReply } from './redis-replies';

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
 * Whose login a connection is: the source logs in as its replication user
 * (a refusal is REPL_AUTH, as in the replica handshake); the sink and the
 * tools as ordinary clients (REDIS_AUTH). Both are fatal: the same
 * credentials fail again.
 */
export type LoginRole = 'replication' | 'client';

/**
 * A single-node ioredis connection for one-off commands (topology, INFO,
 * COMMAND), connected before it is returned. ioredis reports a refused AUTH
 * only on its 'error' event and then fails the command with a bare
 * "Connection is closed"; this keeps that first error and turns it into one
 * clear, non-retriable message naming the node and the user.
 */
export async function connectNode(host: string, port: number, options: RedisOptions = {}, role: LoginRole = 'client'): Promise<Redis> {
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
    if (isAuthReply(text)) {
      throw new TandemError(
        role === 'replication' ? 'REPL_AUTH' : 'REDIS_AUTH',
        `authentication to Redis ${host}:${port} as ${options.username ?? 'default'} failed: ${text} (check redis.username and redis.password)`,
        { cause },
      );
    }
    throw TandemError.wrap('REDIS_UNAVAILABLE', `cannot connect to Redis ${host}:${port}`, cause);
  }
}
