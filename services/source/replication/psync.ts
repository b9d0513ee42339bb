/**
 * PSYNC and its reply.
 *
 *   > PSYNC ? -1                      no checkpoint: ask for a full resync
 *   > PSYNC <replid> <offset + 1>     resume after the last byte we have
 *   < *( "\n" )                       keepalives while the master prepares the RDB
 *   < +FULLRESYNC <replid> <offset>   an RDB follows (see rdb-transfer.ts)
 *   < +CONTINUE [<new replid>]        the stream resumes at offset + 1
 *   < -<error>                        see reply-errors.ts
 *
 * Why offset + 1: our checkpoint offset is the last byte consumed, and the
 * master reads PSYNC's offset as the first byte wanted (redis/src/replication.c
 * masterTryPartialResynchronization checks `psync_offset` against
 * `repl_backlog->offset`, the offset of the backlog's first byte, and sends from
 * `psync_offset`). A real replica sends `cached_master->reploff + 1`
 * (slaveTryPartialResynchronization).
 */
import { TandemError } from '../../shared/errors';
import { encodeCommand } from '../../shared/resp';
import type { WriteFn } from './handshake';
import { replyError } from './reply-errors';
import type { SocketReader } from './socket-reader';
import type { ReplicationCheckpoint } from './types';

export type PsyncResult =
  | { kind: 'full'; replid: string; offset: number }
  /** `replid` is the new id after a failover (psync2), or null when it is unchanged. */
  | { kind: 'continue'; replid: string | null };

const REPLID = /^[0-9a-f]{40}$/i;

export function psyncArgs(checkpoint: ReplicationCheckpoint | undefined): string[] {
  return checkpoint ? ['PSYNC', checkpoint.replid, String(checkpoint.offset + 1)] : ['PSYNC', '?', '-1'];
}

export async function requestPsync(
  write: WriteFn,
  reader: SocketReader,
  checkpoint: ReplicationCheckpoint | undefined,
  endpoint: string,
): Promise<PsyncResult> {
  const args = psyncArgs(checkpoint);
  write(encodeCommand(args));
  const step = args.join(' ');
  for (;;) {
    const line = await reader.readLine(`${step} reply`);
    if (line.length === 0) continue; // keepalive
    return parsePsyncReply(line, step, endpoint);
  }
}

export function parsePsyncReply(line: string, step: string, endpoint: string): PsyncResult {
  if (line.startsWith('-')) throw replyError(step, line, endpoint);
  const parts = line.split(' ');
  if (parts[0] === '+FULLRESYNC') {
    const offset = Number(parts[2]);
    if (parts.length !== 3 || !REPLID.test(parts[1]) || !Number.isSafeInteger(offset) || offset < 0) {
      throw new TandemError('REPL_HANDSHAKE', `master ${endpoint}: malformed reply to ${step}: ${line}`);
    }
    return { kind: 'full', replid: parts[1], offset };
  }
  if (parts[0] === '+CONTINUE') {
    if (parts.length === 1) return { kind: 'continue', replid: null };
    if (parts.length === 2 && REPLID.test(parts[1])) return { kind: 'continue', replid: parts[1] };
  }
  throw new TandemError('REPL_HANDSHAKE', `master ${endpoint}: unexpected reply to ${step}: ${line.slice(0, 200)}`);
}
