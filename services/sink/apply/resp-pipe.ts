import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import RedisParser from 'redis-parser';
import { TandemError, errorMessage } from '../../shared/errors';
import { isRedisAuthFailure } from '../../shared/redis-connect';
import { encodeCommand } from '../../shared/resp';

/**
 * A raw pipelined connection to one Redis node, for the sink's hot path.
 * The writer hands it whole MULTI … EXEC blocks already encoded as RESP; all
 * blocks sent in one turn of the event loop leave in one socket write
 * (cork/uncork), and the replies come back in order (redis-parser). One
 * command object per argument list, as a general client builds, cost the sink
 * most of its CPU and GC (BENCHMARKS.md).
 *
 * It never resends: when the connection drops, every block in flight fails
 * with a connection error (the writer re-reads the slot's marker, which says
 * whether the EXEC ran, before it tries again), and the next send reconnects.
 */
export interface RespPipeOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  tls?: ConnectionOptions;
  /** SELECT after AUTH (a standalone replay target); never in cluster mode */
  db?: number;
  connectTimeoutMs: number;
}

/** A reply: string, number, null, an array of replies, or an Error for an error reply. */
export type Reply = string | Buffer | number | null | Error | Reply[];

interface Pending {
  count: number;
  replies: Reply[];
  resolve: (replies: Reply[]) => void;
  reject: (err: Error) => void;
}

export class RespPipe {
  private socket: Socket | undefined;
  private connecting: Promise<Socket> | undefined;
  private queue: Pending[] = [];
  private corked = false;
  private closed = false;

  constructor(private readonly o: RespPipeOptions) {}

  get address(): string {
    return `${this.o.host}:${this.o.port}`;
  }

  /** Sends encoded commands and resolves with their `replies` replies, in order. */
  async send(payload: Buffer, replies: number): Promise<Reply[]> {
    const socket = this.socket ?? (await this.connect());
    return new Promise<Reply[]>((resolve, reject) => {
      this.queue.push({ count: replies, replies: [], resolve, reject });
      if (!this.corked) {
        this.corked = true;
        socket.cork();
        process.nextTick(() => {
          this.corked = false;
          socket.uncork();
        });
      }
      socket.write(payload);
    });
  }

  close(): void {
    this.closed = true;
    this.socket?.destroy();
    this.socket = undefined;
  }

  private connect(): Promise<Socket> {
    if (this.closed) return Promise.reject(new TandemError('REDIS_UNAVAILABLE', `connection to ${this.address} is closed`, { retriable: true }));
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private open(): Promise<Socket> {
    const { o } = this;
    return new Promise<Socket>((resolve, reject) => {
      const socket = o.tls ? tlsConnect({ ...o.tls, host: o.host, port: o.port, servername: o.tls.servername }) : netConnect({ host: o.host, port: o.port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => socket.destroy(new Error(`connect timeout after ${o.connectTimeoutMs} ms`)), o.connectTimeoutMs);
      const parser = new RedisParser({
        // The writer reads errors and the shape of EXEC's reply, never values:
        // strings cost less than a Buffer per +OK and +QUEUED.
        returnBuffers: false,
        returnReply: (reply: Reply) => this.reply(reply),
        returnError: (err: Error) => this.reply(err),
        returnFatalError: (err: Error) => socket.destroy(err),
      });
      socket.on('data', (chunk: Buffer) => parser.execute(chunk));
      socket.on('close', () => {
        clearTimeout(timer);
        if (this.socket === socket) this.socket = undefined;
        this.failAll(socket, new TandemError('REDIS_UNAVAILABLE', `connection to ${this.address} lost`, { retriable: true }));
      });
      socket.on('error', (err) => {
        reject(new TandemError('REDIS_UNAVAILABLE', `cannot connect to ${this.address}: ${errorMessage(err)}`, { retriable: true, cause: err }));
      });
      socket.once(o.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        this.handshake(socket).then(
          () => {
            this.socket = socket;
            resolve(socket);
          },
          (err: unknown) => {
            socket.destroy();
            reject(err);
          },
        );
      });
    });
  }

  /** AUTH and SELECT when configured; their replies are the first the parser sees on this socket. */
  private async handshake(socket: Socket): Promise<void> {
    const { username, password, db } = this.o;
    if (password !== undefined) {
      const reply = await this.call(socket, username ? ['AUTH', username, password] : ['AUTH', password]);
      if (reply instanceof Error) {
        const auth = isRedisAuthFailure(reply.message);
        throw new TandemError(auth ? 'REDIS_AUTH' : 'REDIS_UNAVAILABLE', `${this.address} refused AUTH${username ? ` as ${username}` : ''}: ${reply.message}`, {
          retriable: !auth,
        });
      }
    }
    if (db !== undefined && db !== 0) {
      const reply = await this.call(socket, ['SELECT', String(db)]);
      if (reply instanceof Error) throw new TandemError('TARGET_REJECTED', `${this.address} refused SELECT ${db}: ${reply.message}`);
    }
  }

  private async call(socket: Socket, argv: string[]): Promise<Reply> {
    const [reply] = await new Promise<Reply[]>((resolve, reject) => {
      this.queue.push({ count: 1, replies: [], resolve, reject });
      socket.write(encodeCommand(argv));
    });
    return reply;
  }

  private reply(reply: Reply): void {
    const head = this.queue[0];
    if (head === undefined) return; // nothing asked (cannot happen with a well-behaved server)
    head.replies.push(reply);
    if (head.replies.length === head.count) {
      this.queue.shift();
      head.resolve(head.replies);
    }
  }

  private failAll(socket: Socket, err: Error): void {
    if (this.socket !== undefined && this.socket !== socket) return;
    for (const p of this.queue.splice(0)) p.reject(err);
  }
}
