import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import RedisParser from 'redis-parser';
import { TandemError, errorMessage } from '../../shared/errors';
import { isAuthReply } from '../../shared/redis-replies';
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

/** One socket and the replies it owes, in order. */
interface Conn {
  /** Numbers the pipe's connections: WAIT only vouches for writes made on its own connection. */
  id: number;
  socket: Socket;
  queue: Pending[];
  corked: boolean;
}

/** What a WAIT says: how many replicas acknowledged every write sent on connection `conn` before it. */
export interface WaitResult {
  acked: number;
}

export class RespPipe {
  private conn: Conn | undefined;
  private connecting: Promise<Conn> | undefined;
  private closed = false;
  private nextId = 1;
  /** Payloads written so far, over every connection: a write's number says what a later WAIT covers. */
  private written = 0;
  /** The last WAIT sent, per connection and arguments, with the number of the last write before it. */
  private waits = new Map<string, { after: number; reply: Promise<number> }>();

  constructor(private readonly o: RespPipeOptions) {}

  /** Id of the open connection, if any: a write is only as safe as the connection that carried it. */
  get connId(): number | undefined {
    // A destroyed socket is gone even before its 'close' event: the next write opens another connection.
    return this.conn !== undefined && !this.conn.socket.destroyed ? this.conn.id : undefined;
  }

  get address(): string {
    return `${this.o.host}:${this.o.port}`;
  }

  /** Sends encoded commands and resolves with their `replies` replies, in order. */
  async send(payload: Buffer, replies: number): Promise<Reply[]> {
    return (await this.sendTracked(payload, replies)).replies;
  }

  /** As send, and says which connection carried the commands (for `wait`). */
  async sendTracked(payload: Buffer, replies: number): Promise<{ replies: Reply[]; conn: number; seq: number }> {
    const live = this.conn !== undefined && !this.conn.socket.destroyed ? this.conn : undefined;
    const conn = live ?? (await this.connect());
    const seq = this.written + 1;
    return { replies: await this.write(conn, payload, replies), conn: conn.id, seq };
  }

  /**
   * `WAIT replicas timeoutMs` on connection `conn`, covering the write
   * numbered `seq` (sendTracked): resolves with the number of replicas that
   * acknowledged every write sent on that connection before the WAIT (WAIT
   * counts up to the client's own last write, redis/src/replication.c
   * waitCommand). A connection serves its commands in order, so a WAIT
   * already sent after write `seq` covers it: callers join it instead of
   * sending another. This matters because a WAIT blocks the connection in
   * Redis until the replicas answer, and every partition batch of a fetch
   * cycle asks one of each master it wrote to. Throws a retriable
   * REDIS_UNAVAILABLE when that connection is gone: the writes' fate is then
   * unknown, and a WAIT on another connection would vouch for nothing.
   */
  wait(conn: number, replicas: number, timeoutMs: number, seq: number): Promise<number> {
    const live = this.conn !== undefined && !this.conn.socket.destroyed ? this.conn : undefined;
    if (live === undefined || live.id !== conn) {
      return Promise.reject(new TandemError('REDIS_UNAVAILABLE', `connection ${conn} to ${this.address} is gone; its writes are not known to be replicated`));
    }
    const id = `${conn}/${replicas}/${timeoutMs}`;
    const last = this.waits.get(id);
    if (last !== undefined && last.after >= seq) return last.reply;
    const sent = { after: this.written, reply: Promise.resolve(0) };
    sent.reply = this.write(live, encodeCommand(['WAIT', String(replicas), String(timeoutMs)]), 1).then(
      ([reply]) => {
        if (this.waits.get(id) === sent) this.waits.delete(id);
        if (typeof reply !== 'number') throw reply instanceof Error ? reply : new TandemError('RESP_PROTOCOL', `WAIT answered ${String(reply)}`);
        return reply;
      },
      (err: unknown) => {
        if (this.waits.get(id) === sent) this.waits.delete(id);
        throw err;
      },
    );
    this.waits.set(id, sent);
    return sent.reply;
  }

  close(): void {
    this.closed = true;
    this.conn?.socket.destroy();
    this.conn = undefined;
  }

  private write(conn: Conn, payload: Buffer, replies: number): Promise<Reply[]> {
    return new Promise<Reply[]>((resolve, reject) => {
      if (conn.socket.destroyed) {
        reject(new TandemError('REDIS_UNAVAILABLE', `connection to ${this.address} lost`));
        return;
      }
      conn.queue.push({ count: replies, replies: [], resolve, reject });
      if (!conn.corked) {
        conn.corked = true;
        conn.socket.cork();
        process.nextTick(() => {
          conn.corked = false;
          conn.socket.uncork();
        });
      }
      this.written++;
      conn.socket.write(payload);
    });
  }

  private connect(): Promise<Conn> {
    if (this.closed) return Promise.reject(new TandemError('REDIS_UNAVAILABLE', `connection to ${this.address} is closed`));
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private open(): Promise<Conn> {
    const { o } = this;
    return new Promise<Conn>((resolve, reject) => {
      const socket = o.tls ? tlsConnect({ ...o.tls, host: o.host, port: o.port, servername: o.tls.servername }) : netConnect({ host: o.host, port: o.port });
      const conn: Conn = { id: this.nextId++, socket, queue: [], corked: false };
      socket.setNoDelay(true);
      const timer = setTimeout(() => socket.destroy(new Error(`connect timeout after ${o.connectTimeoutMs} ms`)), o.connectTimeoutMs);
      const parser = new RedisParser({
        // The writer reads errors and the shape of EXEC's reply, never values:
        // strings cost less than a Buffer per +OK and +QUEUED.
        returnBuffers: false,
        returnReply: (reply: Reply) => deliver(conn, reply),
        returnError: (err: Error) => deliver(conn, err),
        returnFatalError: (err: Error) => socket.destroy(err),
      });
      socket.on('data', (chunk: Buffer) => parser.execute(chunk));
      socket.on('close', () => {
        clearTimeout(timer);
        if (this.conn === conn) this.conn = undefined;
        // Whatever was in flight on this socket may or may not have run: the writer re-reads the marker.
        const lost = new TandemError('REDIS_UNAVAILABLE', `connection to ${this.address} lost`);
        for (const p of conn.queue.splice(0)) p.reject(lost);
      });
      socket.on('error', (err) => {
        reject(new TandemError('REDIS_UNAVAILABLE', `cannot connect to ${this.address}: ${errorMessage(err)}`, { cause: err }));
      });
      socket.once(o.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        this.handshake(conn).then(
          () => {
            if (this.closed) socket.destroy();
            else this.conn = conn;
            resolve(conn);
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
  private async handshake(conn: Conn): Promise<void> {
    const { username, password, db } = this.o;
    if (password !== undefined) {
      const [reply] = await this.write(conn, encodeCommand(username ? ['AUTH', username, password] : ['AUTH', password]), 1);
      if (reply instanceof Error) {
        const auth = isAuthReply(reply.message);
        throw new TandemError(auth ? 'REDIS_AUTH' : 'REDIS_UNAVAILABLE', `${this.address} refused AUTH${username ? ` as ${username}` : ''}: ${reply.message}`);
      }
    }
    if (db !== undefined && db !== 0) {
      const [reply] = await this.write(conn, encodeCommand(['SELECT', String(db)]), 1);
      if (reply instanceof Error) throw new TandemError('TARGET_REJECTED', `${this.address} refused SELECT ${db}: ${reply.message}`);
    }
  }
}

/** Hands a reply to the oldest request of the connection. */
function deliver(conn: Conn, reply: Reply): void {
  const head = conn.queue[0];
  if (head === undefined) {
    // A reply nobody asked for means the stream is out of step: drop the connection rather than misattribute replies.
    conn.socket.destroy(new Error('unexpected reply'));
    return;
  }
  head.replies.push(reply);
  if (head.replies.length === head.count) {
    conn.queue.shift();
    head.resolve(head.replies);
  }
}
