/**
 * The replica handshake, up to (not including) PSYNC. The same steps a real
 * replica takes in redis/src/replication.c syncWithMaster:
 *
 *   > PING                                  < +PONG   (or -NOAUTH when AUTH follows)
 *   > AUTH [username] password              < +OK
 *   > REPLCONF listening-port <port>        < +OK
 *   > REPLCONF capa eof capa psync2         < +OK
 *
 * `capa eof` lets the master stream a diskless RDB (`$EOF:<mark>`); `capa
 * psync2` lets it answer `+CONTINUE <new replid>` after a failover. Replies are
 * single lines; a master never sends keepalive newlines this early, but an
 * empty line is skipped anyway, harmlessly.
 */
import type { Logger } from '../../shared/logger';
import { TandemError } from '../../shared/errors';
import { encodeCommand } from '../../shared/resp';
import { isAuthReply } from '../../shared/redis-replies';
import { replyError } from './reply-errors';
import type { SocketReader } from './socket-reader';

export interface HandshakeOptions {
  endpoint: string;
  username?: string;
  password?: string;
  listeningPort: number;
  logger?: Logger;
}

export type WriteFn = (bytes: Buffer) => void;

export async function performHandshake(write: WriteFn, reader: SocketReader, opts: HandshakeOptions): Promise<void> {
  const { endpoint } = opts;

  // PING first, like syncWithMaster: it proves the master answers before we
  // send credentials, and a -NOAUTH here only means "AUTH comes next".
  const pong = await request(write, reader, ['PING'], 'PING');
  if (pong.startsWith('-')) {
    if (!isAuthReply(pong)) throw replyError('PING', pong, endpoint);
    if (opts.password === undefined) {
      throw new TandemError(
        'REPL_AUTH',
        `master ${endpoint} requires authentication (${pong.slice(1)}) but no password is configured for the link`,
      );
    }
  }

  if (opts.password !== undefined) {
    const args = opts.username ? ['AUTH', opts.username, opts.password] : ['AUTH', opts.password];
    const reply = await request(write, reader, args, 'AUTH');
    if (reply.startsWith('-')) throw replyError(opts.username ? `AUTH as user '${opts.username}'` : 'AUTH', reply, endpoint);
  }

  const port = await request(write, reader, ['REPLCONF', 'listening-port', String(opts.listeningPort)], 'REPLCONF listening-port');
  if (port.startsWith('-')) throw replyError('REPLCONF listening-port', port, endpoint);

  const capa = await request(write, reader, ['REPLCONF', 'capa', 'eof', 'capa', 'psync2'], 'REPLCONF capa');
  if (capa.startsWith('-')) {
    // Redis ignores a failed capa ("not all the Redis versions support
    // REPLCONF capa"); we do too, except a permission error, which PSYNC would
    // hit next anyway with a less clear message.
    if (isAuthReply(capa)) throw replyError('REPLCONF capa', capa, endpoint);
    opts.logger?.warn({ endpoint, reply: capa }, 'master rejected REPLCONF capa; continuing without diskless/psync2');
  }
}

async function request(write: WriteFn, reader: SocketReader, args: string[], what: string): Promise<string> {
  write(encodeCommand(args));
  for (;;) {
    const line = await reader.readLine(`${what} reply`);
    if (line.length > 0) return line;
  }
}
