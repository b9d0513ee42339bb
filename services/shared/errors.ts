/**
 * The one error type of Tandem. Every failure that crosses a module boundary is
 * a TandemError with a stable `code` (for logs, metrics and tests), a
 * `retriable` flag (the single question every error handler asks: retry under a
 * bound, or stop / route to the DLQ) and an optional `cause`.
 *
 * `retriable` belongs to the code, never to the throw site: RETRIABLE below is
 * the one place that says which failures are worth another try. A site that
 * needs the other answer needs another code.
 */
export type TandemErrorCode =
  // configuration and usage: never retriable, stop at start with one message
  | 'CONFIG_INVALID'
  | 'USAGE'
  | 'PREREQUISITE_MISSING'
  // local stack
  | 'STACK_START_FAILED'
  | 'STACK_NOT_RUNNING'
  // parsers
  | 'RDB_CORRUPT'
  | 'RDB_UNSUPPORTED'
  | 'RESP_PROTOCOL'
  // replication link
  | 'REPL_HANDSHAKE'
  | 'REPL_AUTH'
  | 'REPL_LINK_LOST'
  | 'REPL_MASTER_LOADING'
  // events
  | 'EVENT_DECODE'
  | 'EVENT_ENCODE'
  | 'EVENT_TOO_LARGE'
  | 'TOPIC_MISMATCH'
  // kafka and redis I/O
  | 'KAFKA_UNAVAILABLE'
  | 'KAFKA_AUTH'
  | 'KAFKA_FENCED'
  | 'REDIS_UNAVAILABLE'
  | 'REDIS_AUTH'
  | 'TARGET_REJECTED'
  | 'TARGET_BEHIND'
  // a retry loop that ended without success: its budget is spent, or the service stops
  | 'RETRIES_EXHAUSTED'
  | 'INTERNAL';

/** Whether a failure of each code is worth another try (under a bound: services/shared/retry.ts). */
export const RETRIABLE: Readonly<Record<TandemErrorCode, boolean>> = {
  CONFIG_INVALID: false,
  USAGE: false,
  PREREQUISITE_MISSING: false,
  STACK_START_FAILED: false,
  STACK_NOT_RUNNING: false,
  RDB_CORRUPT: false,
  RDB_UNSUPPORTED: false,
  RESP_PROTOCOL: false,
  REPL_HANDSHAKE: false,
  REPL_AUTH: false, // the same credentials fail again: an operator must act
  REPL_LINK_LOST: true, // lost or refused connection: resume from the checkpoint
  REPL_MASTER_LOADING: true, // -LOADING, -NOMASTERLINK, -MASTERDOWN, -BUSY: not ready yet
  EVENT_DECODE: false,
  EVENT_ENCODE: false,
  EVENT_TOO_LARGE: false,
  TOPIC_MISMATCH: false,
  KAFKA_UNAVAILABLE: true, // a broker down, a leader election, a read that stalled
  KAFKA_AUTH: false,
  KAFKA_FENCED: false, // another producer with our transactional id: never write beside it
  REDIS_UNAVAILABLE: true, // unreachable, connection lost, not a master (any more), topology moving
  REDIS_AUTH: false,
  TARGET_REJECTED: false,
  TARGET_BEHIND: true, // the target lost applied writes: rewind the partition and apply them again
  RETRIES_EXHAUSTED: false, // retrying was the answer, and it has run out
  INTERNAL: false,
};

export class TandemError extends Error {
  readonly code: TandemErrorCode;
  readonly retriable: boolean;
  override readonly cause?: unknown;

  constructor(code: TandemErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(message);
    this.name = 'TandemError';
    this.code = code;
    this.retriable = RETRIABLE[code];
    if (opts.cause !== undefined) this.cause = opts.cause;
  }

  /** Wraps any thrown value with context, keeping an existing TandemError's code (and so its class). */
  static wrap(code: TandemErrorCode, context: string, err: unknown): TandemError {
    if (err instanceof TandemError) return new TandemError(err.code, `${context}: ${err.message}`, { cause: err });
    return new TandemError(code, `${context}: ${errorMessage(err)}`, { cause: err });
  }

  /** The end of a retry loop: whatever `err` was, it is not retried again. */
  static exhausted(context: string, err?: unknown): TandemError {
    return new TandemError('RETRIES_EXHAUSTED', err === undefined ? context : `${context}: ${errorMessage(err)}`, err === undefined ? {} : { cause: err });
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

export function isRetriable(err: unknown): boolean {
  return err instanceof TandemError && err.retriable;
}
