/**
 * Maps a master's `-ERR…` reply during the handshake to a TandemError, so the
 * one error handler (source/link-runner.ts) can decide between retry and stop.
 * The class of the reply comes from the shared table (shared/redis-replies.ts):
 *
 *   retriable (-LOADING, -NOMASTERLINK, -MASTERDOWN, -BUSY …) → REPL_MASTER_LOADING, retried
 *   auth (-NOAUTH, -WRONGPASS, -NOPERM, "operation not permitted") → REPL_AUTH, fatal
 *   anything else → REPL_HANDSHAKE, fatal
 */
import { TandemError } from '../../shared/errors';
import { classifyReply } from '../../shared/redis-replies';

/** `step` names what we sent, e.g. "AUTH" or "PSYNC ? -1", for the message. */
export function replyError(step: string, line: string, endpoint: string): TandemError {
  const reply = line.startsWith('-') ? line.slice(1) : line;
  switch (classifyReply(line)) {
    case 'auth':
      return new TandemError(
        'REPL_AUTH',
        `master ${endpoint} refused ${step}: ${reply}. Check the replication user and password ` +
          `(the user needs at least: on >password +psync +replconf +ping; see docs/replication.md)`,
      );
    case 'retriable':
      return new TandemError('REPL_MASTER_LOADING', `master ${endpoint} not ready for ${step}: ${reply}`);
    default:
      return new TandemError('REPL_HANDSHAKE', `master ${endpoint} rejected ${step}: ${reply}`);
  }
}
