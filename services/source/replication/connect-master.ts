/**
 * Opens the TCP (or TLS) connection to a master. A failure to connect is a
 * retriable REPL_LINK_LOST: the master may be restarting or failing over.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { TandemError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';

export interface ConnectOptions {
  host: string;
  port: number;
  /** When set, connect with TLS; passed to tls.connect as is (ca, cert, key, servername…). */
  tls?: tls.ConnectionOptions;
  connectTimeoutMs?: number;
  logger?: Logger;
}

/** `onSocket` receives the socket at once, so that the caller can destroy it while it connects. */
export function connectToMaster(opts: ConnectOptions, onSocket: (socket: net.Socket) => void): Promise<net.Socket> {
  const { host, port } = opts;
  const endpoint = `${host}:${port}`;
  const timeoutMs = opts.connectTimeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const socket: net.Socket = opts.tls ? tls.connect({ host, port, ...opts.tls }) : net.connect({ host, port });
    onSocket(socket);
    const timer = setTimeout(() => socket.destroy(new Error(`no connection after ${timeoutMs} ms`)), timeoutMs);
    const onError = (err: Error): void => {
      clearTimeout(timer);
      reject(new TandemError('REPL_LINK_LOST', `cannot connect to master ${endpoint}: ${err.message}`, { cause: err }));
    };
    // A destroy() during connect (stop()) closes the socket without an error: only 'close' fires.
    const onClose = (): void => onError(new Error('connection closed before it was established'));
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.once(opts.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      // Errors after this point reach the link through the SocketReader's
      // iterator; this listener only keeps an 'error' event between two reads
      // from being unhandled.
      socket.on('error', (err) => opts.logger?.debug({ endpoint, err }, 'socket error'));
      socket.setNoDelay(true); // ACKs are tiny and should not wait for Nagle
      socket.setKeepAlive(true, 10_000);
      resolve(socket);
    });
  });
}
