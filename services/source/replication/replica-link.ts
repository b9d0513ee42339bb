/**
 * ReplicaLink: one connection to one Redis master, impersonating a replica.
 * The only socket code of the source connector.
 *
 * API
 *   const link = new ReplicaLink({ host, port, username?, password?, tls?,
 *     listeningPort, checkpoint?: { replid, offset, db? }, logger?,
 *     rdbSink, commandSink, readTimeoutMs?, connectTimeoutMs?, ackIntervalMs? });
 *   link.run(): Promise<void>   one connection's life: connect, handshake,
 *                               PSYNC, RDB (if full resync), stream. Resolves
 *                               after stop(); rejects with a TandemError
 *                               (`retriable` says whether to run() again).
 *                               run() again resumes from link.checkpoint, like
 *                               a real replica with its cached master.
 *   link.stop(): Promise<void>  closes the socket, waits for run() to settle.
 *   link.state                  'idle' | 'connecting' | 'handshaking' |
 *                               'syncing-rdb' | 'streaming' | 'closed'
 *   link.checkpoint             { replid, offset, db } | null: the last safe
 *                               (outside MULTI, delivered) position
 *   link.replid, link.offset, link.stats
 *   events: 'state' (state), 'fullresync' ({ replid, offset, reason }),
 *           'continue' ({ replid, offset, replidChanged })
 *   One run() is one connection; the source's LinkRunner (source/link-runner.ts)
 *   retries it under shared/retry.ts's replicaLink policy.
 *
 * Offsets: link.offset only moves once the consumer has accepted the event
 * (its promise resolved) and never inside MULTI, so it is what we ACK and what
 * PSYNC resumes from; nothing delivered is ever delivered twice by this link.
 */
import { EventEmitter } from 'node:events';
import type * as net from 'node:net';
import type * as tls from 'node:tls';
import { TandemError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import { CommandParser } from '../resp/command-parser';
import { encodeCommand } from '../../shared/resp';
import { CommandStream } from './command-stream';
import { connectToMaster } from './connect-master';
import { performHandshake } from './handshake';
import { requestPsync } from './psync';
import { receiveRdb, type RdbTransferResult } from './rdb-transfer';
import { SocketReader } from './socket-reader';
import type {
  CommandSink,
  RdbSink,
  ReplicaLinkState,
  ReplicaLinkStats,
  ReplicationCheckpoint,
} from './types';

/** Longest stretch of stream parsing before the link lets other I/O run. */
const YIELD_EVERY_MS = 5;

export interface ReplicaLinkOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  /** When set, connect with TLS; passed to tls.connect as is (ca, cert, key, servername…). */
  tls?: tls.ConnectionOptions;
  /** Sent as REPLCONF listening-port; shows in the master's INFO replication. */
  listeningPort: number;
  /** Resume point. Without it the link asks for a full resync (PSYNC ? -1). */
  checkpoint?: ReplicationCheckpoint;
  logger?: Logger;
  rdbSink: RdbSink;
  commandSink: CommandSink;
  /** Give up when the master sends nothing for this long while we wait; like repl-timeout. Default 60 s. */
  readTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Period of REPLCONF ACK; a real replica acks once per second (replicationCron). */
  ackIntervalMs?: number;
  /**
   * Called before the commands of a chunk that holds a DEL or UNLINK are
   * handed on, so every expiry/eviction notification published before them
   * is known (keyevent-watcher.ts). A rejection ends the link.
   */
  beforeDeletions?: () => Promise<void>;
  /**
   * Called once the master answered PSYNC, before anything of its answer is
   * read (no RDB, no command): a check that throws ends the attempt with
   * nothing delivered (link-runner.ts checks the node is still a master,
   * role-check.ts).
   */
  afterPsync?: () => Promise<void>;
  /**
   * The offset REPLCONF ACK reports. Default: the offset read. The source
   * reports what it has committed to Kafka, so that WAIT and
   * min-replicas-to-write on the master count the source only for writes
   * that are safe in Kafka.
   */
  ackOffset?: () => number;
}

/** True for DEL/UNLINK (any case), as masters propagate expired and evicted keys. Called per command: no allocation. */
export function isDeletion(argv: readonly Buffer[]): boolean {
  const name = argv[0];
  if (name === undefined) return false;
  const word = name.length === 3 ? 'del' : name.length === 6 ? 'unlink' : undefined;
  if (word === undefined) return false;
  for (let i = 0; i < name.length; i++) if ((name[i] | 0x20) !== word.charCodeAt(i)) return false;
  return true;
}

/** True for RESTORE-ASKING (any case): only MIGRATE sends it (cluster.c migrateCommand), so it is a key moving in. */
export function isRestoreAsking(argv: readonly Buffer[]): boolean {
  const name = argv[0];
  return name !== undefined && name.length === 14 && name.toString('latin1').toLowerCase() === 'restore-asking';
}

export class ReplicaLink extends EventEmitter {
  readonly stats: ReplicaLinkStats = {
    bytesRead: 0,
    rdbBytes: 0,
    commands: 0,
    events: 0,
    acksSent: 0,
    partialResyncs: 0,
    fullResyncs: 0,
    fullResyncReasons: {},
  };
  private stateValue: ReplicaLinkState = 'idle';
  private replidValue: string | null;
  private offsetValue: number;
  private dbValue: number;
  /** Set from +FULLRESYNC until the RDB is complete: the position to fall back to if the transfer breaks. */
  private rdbPending: { before: Required<ReplicationCheckpoint> | null } | null = null;
  private socket: net.Socket | null = null;
  private running: Promise<void> | null = null;
  private stopping = false;
  private acking = false;
  private readonly endpoint: string;
  /**
   * performance.now() when the link read what it is handing on now: the
   * stream chunk, or the start of the RDB for snapshot events. Whatever the
   * master wrote before that moment is in it, or came before it.
   */
  readAt = 0;

  constructor(private readonly opts: ReplicaLinkOptions) {
    super();
    this.endpoint = `${opts.host}:${opts.port}`;
    this.replidValue = opts.checkpoint?.replid ?? null;
    this.offsetValue = opts.checkpoint?.offset ?? -1;
    this.dbValue = opts.checkpoint?.db ?? 0;
  }

  get state(): ReplicaLinkState {
    return this.stateValue;
  }
  get replid(): string | null {
    return this.replidValue;
  }
  /** The last safe offset (delivered, outside MULTI); -1 before the first sync. */
  get offset(): number {
    return this.offsetValue;
  }
  get checkpoint(): Required<ReplicationCheckpoint> | null {
    // While an RDB is being received, the new replid and offset are not safe
    // yet: a PSYNC from them after a broken transfer would get +CONTINUE and
    // silently skip the rest of the snapshot. Until the RDB is complete, the
    // safe position is the one we had before the full resync.
    if (this.rdbPending) return this.rdbPending.before;
    return this.replidValue === null ? null : { replid: this.replidValue, offset: this.offsetValue, db: this.dbValue };
  }

  run(): Promise<void> {
    if (this.running) return Promise.reject(new TandemError('INTERNAL', `replica link ${this.endpoint} is already running`));
    this.stopping = false;
    this.running = this.runOnce().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.socket?.destroy();
    // run()'s caller receives its outcome; here we only wait for it to end.
    if (this.running) await Promise.allSettled([this.running]);
    this.setState('closed');
  }

  private async runOnce(): Promise<void> {
    const log = this.opts.logger;
    let timer: NodeJS.Timeout | null = null;
    const followUps: NodeJS.Timeout[] = [];
    let socket: net.Socket | null = null;
    if (this.rdbPending) {
      // The last attempt broke inside its RDB: start again from the position before it.
      const before = this.rdbPending.before;
      this.replidValue = before?.replid ?? null;
      this.offsetValue = before?.offset ?? -1;
      this.dbValue = before?.db ?? 0;
      this.rdbPending = null;
    }
    try {
      this.setState('connecting');
      socket = await connectToMaster(this.opts, (s) => {
        this.socket = s;
      });
      if (this.stopping) socket.destroy();
      const reader = new SocketReader(socket, this.endpoint, (n) => {
        this.stats.bytesRead += n;
      });
      timer = setInterval(() => this.tick(reader), this.opts.ackIntervalMs ?? 1000);
      const write = (bytes: Buffer): void => {
        socket?.write(bytes);
      };

      this.setState('handshaking');
      await performHandshake(write, reader, { ...this.opts, endpoint: this.endpoint });
      const checkpoint = this.checkpoint ?? undefined;
      const psync = await requestPsync(write, reader, checkpoint, this.endpoint);
      if (this.opts.afterPsync) await this.opts.afterPsync();

      if (psync.kind === 'full') {
        const reason = checkpoint ? 'psync-rejected' : 'no-checkpoint';
        this.stats.fullResyncs++;
        this.stats.fullResyncReasons[reason] = (this.stats.fullResyncReasons[reason] ?? 0) + 1;
        const level = checkpoint ? 'warn' : 'info';
        log?.[level](
          { endpoint: this.endpoint, reason, requested: checkpoint, replid: psync.replid, offset: psync.offset },
          checkpoint ? 'FULL RESYNC: master refused to continue from our checkpoint (replid unknown or offset out of backlog)' : 'full resync (no checkpoint)',
        );
        this.rdbPending = { before: checkpoint ?? null };
        this.replidValue = psync.replid;
        this.offsetValue = psync.offset;
        this.dbValue = 0; // the master re-emits SELECT after a full resync (slaveseldb = -1)
        this.emit('fullresync', { replid: psync.replid, offset: psync.offset, reason });
        this.setState('syncing-rdb');
        const bytesBefore = reader.bytesRead;
        const rdb = await this.receiveRdb(reader, psync.replid, psync.offset);
        this.rdbPending = null;
        this.stats.rdbBytes += rdb.size;
        log?.info({ endpoint: this.endpoint, size: rdb.size, diskless: rdb.diskless, read: reader.bytesRead - bytesBefore }, 'RDB received');
        if (rdb.diskless) {
          // A diskless master starts the command stream only on our first ACK
          // (replication.c updateSlavesWaitingBgsave: repl_start_cmd_stream_on_ack).
          // Race seen on 7.0.15: the ACK can arrive before the master has reaped
          // its RDB child and set that flag, and is then ignored; a real replica
          // recovers at its next once-a-second cron ACK. A few quick follow-up
          // ACKs start the stream without that lag, whatever ackIntervalMs is.
          this.sendAck();
          for (const delay of [50, 200, 500]) followUps.push(setTimeout(() => this.sendAck(), delay));
        }
      } else {
        this.stats.partialResyncs++;
        const replidChanged = psync.replid !== null && psync.replid !== this.replidValue;
        if (psync.replid !== null) this.replidValue = psync.replid;
        log?.info({ endpoint: this.endpoint, replid: this.replidValue, offset: this.offsetValue, replidChanged }, 'partial resync (+CONTINUE)');
        this.emit('continue', { replid: this.replidValue, offset: this.offsetValue, replidChanged });
      }

      this.setState('streaming');
      this.acking = true;
      await this.stream(reader);
    } catch (err) {
      if (this.stopping) {
        log?.debug({ endpoint: this.endpoint, err }, 'replica link stopped');
        return;
      }
      // Socket and protocol failures are TandemErrors already (SocketReader,
      // connectToMaster, the parsers); anything else is a bug, not a reason to retry.
      throw TandemError.wrap('INTERNAL', `replica link to ${this.endpoint}`, err);
    } finally {
      this.acking = false;
      if (timer) clearInterval(timer);
      for (const t of followUps) clearTimeout(t);
      socket?.destroy();
      this.socket = null;
      this.setState('closed');
    }
  }

  private async receiveRdb(reader: SocketReader, replid: string, offset: number): Promise<RdbTransferResult> {
    const sink = this.opts.rdbSink;
    // Bytes of the RDB arriving now show a dataset forked before now (readAt).
    const timed: RdbSink = {
      begin: (info) => sink.begin(info),
      write: (chunk) => {
        this.readAt = performance.now();
        return sink.write(chunk);
      },
      end: () => sink.end(),
    };
    try {
      return await receiveRdb(reader, timed, { replid, offset }, this.endpoint);
    } catch (err) {
      this.opts.rdbSink.abort?.(err instanceof Error ? err : new Error(String(err)));
      // The reader only throws TandemErrors, so a plain error came from the sink.
      throw TandemError.wrap('INTERNAL', `RDB sink failed during the full resync at offset ${offset}`, err);
    }
  }

  private async stream(reader: SocketReader): Promise<void> {
    const replid = this.replidValue as string;
    const parser = new CommandParser(this.offsetValue);
    const grouper = new CommandStream(replid, this.dbValue);
    const sink = this.opts.commandSink;
    let lastYield = Date.now();
    for (;;) {
      // Chunks already buffered in the socket are handed over without a turn
      // of the event loop; under a burst the link would parse for seconds
      // while Kafka's replies wait, and nothing would be committed until the
      // burst was read. Yielding every few ms lets commits overlap the parsing.
      if (Date.now() - lastYield >= YIELD_EVERY_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = Date.now();
      }
      const chunk = await reader.next();
      this.readAt = performance.now();
      const commands = parser.feed(chunk);
      this.stats.commands += commands.length;
      const fence = this.opts.beforeDeletions;
      if (fence !== undefined && commands.some((c) => isDeletion(c.argv))) await fence();
      for (const command of commands) {
        if (this.stopping) return;
        const step = grouper.accept(command);
        if (step === null) continue;
        if (step.type !== 'control') {
          try {
            const pending = sink.onEvent(step);
            if (pending) await pending;
          } catch (err) {
            throw TandemError.wrap('INTERNAL', `command sink rejected the event ending at offset ${step.checkpoint.offset}`, err);
          }
          this.stats.events++;
        } else {
          // Answer GETACK with the offset *before* it, as Redis does: replconfCommand
          // calls replicationSendAck() while c->reploff still excludes the GETACK
          // (networking.c commandProcessed updates reploff after the call). WAIT
          // only needs the client's writes, which precede the GETACK.
          if (step.getack) this.sendAck();
          sink.onCheckpoint?.(step.checkpoint);
        }
        this.offsetValue = step.checkpoint.offset;
        this.dbValue = step.checkpoint.db;
      }
    }
  }

  private tick(reader: SocketReader): void {
    const idle = reader.waitingForMs();
    const limit = this.opts.readTimeoutMs ?? 60_000;
    if (idle > limit) {
      this.socket?.destroy(
        new TandemError('REPL_LINK_LOST', `master ${this.endpoint} sent nothing for ${idle} ms (timeout ${limit} ms)`),
      );
      return;
    }
    // Keep acking while the consumer holds us back: the master drops a replica
    // whose last ACK is older than repl-timeout (replicationCron).
    if (this.acking) this.sendAck();
  }

  /** Sends REPLCONF ACK now (e.g. when a Kafka commit moved the acknowledged offset). */
  ack(): void {
    if (this.acking) this.sendAck();
  }

  private sendAck(): void {
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    const offset = this.opts.ackOffset?.() ?? this.offsetValue;
    socket.write(encodeCommand(['REPLCONF', 'ACK', String(offset)]));
    this.stats.acksSent++;
  }

  private setState(state: ReplicaLinkState): void {
    if (state === this.stateValue) return;
    this.stateValue = state;
    this.emit('state', state);
  }
}
