import type { ConnectionOptions } from 'node:tls';
import Redis from 'ioredis';
import { TandemError, errorMessage } from '../../shared/errors';
import { CommandTable } from '../../commands/command-table';
import { parseRedisUrl } from '../redis-url';

/** Reads `COMMAND` from one Redis node (for exact key extraction in audit and replay). */
export async function readCommandTable(url: string, tls?: ConnectionOptions, password?: string): Promise<CommandTable> {
  const t = parseRedisUrl(url, { allowDb: true });
  const u = t.seeds[0];
  if (tls && !t.tls) throw new TandemError('USAGE', `--tls-* options are for rediss:// URLs, got ${u.host}:${u.port} without TLS`);
  const r = new Redis({
    host: u.host,
    port: u.port,
    username: t.username,
    password: password ?? t.password,
    tls: t.tls ? (tls ?? {}) : undefined,
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => undefined); // connect() and call() below report the failure
  try {
    await r.connect();
    return CommandTable.fromCommandReply(await r.call('COMMAND'));
  } catch (err) {
    throw new TandemError('REDIS_UNAVAILABLE', `cannot read COMMAND from ${u.host}:${u.port}: ${errorMessage(err)}`, { cause: err });
  } finally {
    r.disconnect();
  }
}
