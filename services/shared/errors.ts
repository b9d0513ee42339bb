/**
 * The one error type of Tandem. Every failure that crosses a module boundary is
 * a TandemError with a stable `code` (for logs, metrics and tests), a
 * `retriable` flag (the single question every error handler asks: retry under a
 * bound, or stop / route to the DLQ) and an optional `cause`.
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
  | 'REDIS_UNAVAILABLE'
  | 'REDIS_AUTH'
  | 'TARGET_REJECTED'
  | 'TARGET_BEHIND'
  | 'INTERNAL';

export class TandemError extends Error {
  readonly code: TandemErrorCode;
  readonly retriable: boolean;
  override readonly cause?: unknown;

  constructor(code: TandemErrorCode, message: string, opts: { retriable?: boolean; cause?: unknown } = {}) {
    super(message);
    this.name = 'TandemError';
    this.code = code;
    this.retriable = opts.retriable ?? false;
    if (opts.cause !== undefined) this.cause = opts.cause;
  }

  /** Wraps any thrown value with context, keeping an existing TandemError's code. */
  static wrap(code: TandemErrorCode, context: string, err: unknown, retriable = false): TandemError {
    if (err instanceof TandemError) {
      return new TandemError(err.code, `${context}: ${err.message}`, { retriable: err.retriable, cause: err });
    }
    return new TandemError(code, `${context}: ${errorMessage(err)}`, { retriable, cause: err });
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

export function isRetriable(err: unknown): boolean {
  return err instanceof TandemError && err.retriable;
}
