/**
 * Maps a master's `-ERR…` reply during the handshake to a TandemError, so the
 * one error handler (runLink) can decide between retry and stop.
 *
 * Retriable (the master is not ready yet; retry with backoff):
 *   -LOADING        the master is loading its dataset
 *   -NOMASTERLINK   a chained replica whose own master link is down
 *                   (redis/src/replication.c syncCommand: "Can't SYNC while not
 *                   connected with my master")
 *   -MASTERDOWN, -BUSY
 * Fatal (an operator must act):
 *   -NOAUTH, -WRONGPASS, -NOPERM, "operation not permitted" → REPL_AUTH
 *   anything else → REPL_HANDSHAKE
 */
import { TandemError } from '../../shared/errors';

const RETRIABLE_PREFIXES = ['LOADING', 'NOMASTERLINK', 'MASTERDOWN', 'BUSY'];
const AUTH_PREFIXES = ['NOAUTH', 'WRONGPASS', 'NOPERM'];

export function errorCodeOf(line: string): string {
  const text = line.startsWith('-') ? line.slice(1) : line;
  const space = text.indexOf(' ');
  return (space < 0 ? text : text.slice(0, space)).toUpperCase();
}

export function isAuthError(line: string): boolean {
  const code = errorCodeOf(line);
  // Redis before 6 answered "-ERR operation not permitted" instead of -NOAUTH.
  return AUTH_PREFIXES.includes(code) || /operation not permitted/i.test(line);
}

/** `step` names what we sent, e.g. "AUTH" or "PSYNC ? -1", for the message. */
export function replyError(step: string, line: string, endpoint: string): TandemError {
  const code = errorCodeOf(line);
  const reply = line.startsWith('-') ? line.slice(1) : line;
  if (isAuthError(line)) {
    return new TandemError(
      'REPL_AUTH',
      `master ${endpoint} refused ${step}: ${reply}. Check the replication user and password ` +
        `(the user needs at least: on >password +psync +replconf +ping; see docs/replication.md)`,
    );
  }
  if (RETRIABLE_PREFIXES.includes(code)) {
    return new TandemError('REPL_MASTER_LOADING', `master ${endpoint} not ready for ${step}: ${reply}`, {
      retriable: true,
    });
  }
  return new TandemError('REPL_HANDSHAKE', `master ${endpoint} rejected ${step}: ${reply}`);
}
