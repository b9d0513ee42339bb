/**
 * Shared pieces of the replica-link integration tests: a recording consumer
 * (real sinks that keep what they receive, no mocks) and small waits.
 */
import Redis from 'ioredis';
import { ReplicaLink, type ReplicaLinkOptions } from '../../../services/source/replication/replica-link';
import type {
  CommandSink,
  RdbSink,
  ReplicationCheckpoint,
  ReplicationEvent,
} from '../../../services/source/replication/types';

export class RecordingRdbSink implements RdbSink {
  begins: { replid: string; offset: number; size: number | null }[] = [];
  chunks: Buffer[] = [];
  ended = 0;
  begin(info: { replid: string; offset: number; size: number | null }): void {
    this.begins.push(info);
    this.chunks = [];
  }
  write(chunk: Buffer): void {
    this.chunks.push(Buffer.from(chunk));
  }
  end(): void {
    this.ended++;
  }
  get rdb(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export class RecordingCommandSink implements CommandSink {
  events: ReplicationEvent[] = [];
  checkpoints: Required<ReplicationCheckpoint>[] = [];
  /** When set, onEvent waits for it: simulates a slow consumer. */
  gate: Promise<void> | null = null;
  async onEvent(event: ReplicationEvent): Promise<void> {
    if (this.gate) await this.gate;
    this.events.push(event);
  }
  onCheckpoint(checkpoint: Required<ReplicationCheckpoint>): void {
    this.checkpoints.push(checkpoint);
  }
  /** Every data command as a string argv, with its db. */
  commands(): { db: number; argv: string[] }[] {
    return this.events.flatMap((e) => e.commands.map((c) => ({ db: c.db, argv: c.argv.map((a) => a.toString()) })));
  }
}

export function makeLink(
  port: number,
  extra: Partial<ReplicaLinkOptions> = {},
): { link: ReplicaLink; rdb: RecordingRdbSink; sink: RecordingCommandSink } {
  const rdb = new RecordingRdbSink();
  const sink = new RecordingCommandSink();
  const link = new ReplicaLink({ host: '127.0.0.1', port, listeningPort: 7999, rdbSink: rdb, commandSink: sink, ...extra });
  return { link, rdb, sink };
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function masterReplOffset(redis: Redis): Promise<number> {
  const info = await redis.info('replication');
  const m = /master_repl_offset:(\d+)/.exec(info);
  if (!m) throw new Error(`no master_repl_offset in INFO: ${info}`);
  return Number(m[1]);
}

/** Waits until master_repl_offset stops moving and the link has consumed exactly that much. */
export async function waitForCatchUp(redis: Redis, link: ReplicaLink, timeoutMs = 30_000): Promise<number> {
  let master = -1;
  await waitFor(
    `link offset to reach master_repl_offset (link ${link.offset}, master ${master})`,
    async () => {
      master = await masterReplOffset(redis);
      return link.offset === master;
    },
    timeoutMs,
  );
  return master;
}

export function startLink(link: ReplicaLink): { done: Promise<void>; error: () => unknown } {
  let failure: unknown;
  const done = link.run().catch((err: unknown) => {
    failure = err;
  });
  return { done, error: () => failure };
}
