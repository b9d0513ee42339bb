import pino, { type Logger, type LoggerOptions } from 'pino';
import { TandemError } from './errors';

/**
 * pino JSON logs with a `component` field. Secrets are redacted by path
 * wherever they appear in a logged object, and long string values are cut so
 * that a 100 MB key never lands in a log line.
 */
export type { Logger } from 'pino';

/**
 * Field names that carry secrets anywhere in a logged object (up to 3 levels
 * deep). A TLS private key sits under `tls.key`; a bare `key` is a Redis key and
 * stays visible.
 */
const SECRET_FIELDS = ['password', 'pass', 'secret', 'token', 'privateKey', 'authorization', 'tls.key'];
export const REDACT_PATHS: string[] = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`, `*.*.*.${f}`]);

/** Longest string value kept in a log line; the rest is replaced by a note of its size. */
export const MAX_LOG_VALUE_CHARS = 1024;

export function truncateForLog(value: string, max = MAX_LOG_VALUE_CHARS): string {
  if (value.length <= max) return value;
  return `${value.slice(0, max)}…(${value.length - max} more chars)`;
}

/** The password of a URL (`redis://user:pass@host`), which a client library may quote in its error message. */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:@\s/]*):[^@\s]*@/gi;

function clean(text: string): string {
  return truncateForLog(text.replace(URL_PASSWORD, '$1:[redacted]@'));
}

/** How deep a chain of causes is followed in a log line. */
const MAX_CAUSES = 5;

/** What a log line keeps of an error: what tells an operator what failed, never the data around it. */
export interface LoggedError {
  type: string;
  code?: string | number;
  retriable?: boolean;
  message: string;
  /** Only for an error that is not a TandemError: those are expected, and their message says it all. */
  stack?: string;
  cause?: LoggedError | string;
}

/**
 * pino's serializer for `err`: type, code, retriable, message and the chain
 * of causes. Unlike pino's standard one it copies no other field: an ioredis
 * error carries the command it failed (an AUTH's password, a value), a kafkajs
 * one its request.
 */
export function serializeError(err: unknown, depth = 0): LoggedError | string | unknown {
  if (!(err instanceof Error)) return typeof err === 'string' ? clean(err) : err;
  const e = err as Error & { code?: unknown; retriable?: unknown };
  const out: LoggedError = { type: e.name, message: clean(e.message) };
  if (typeof e.code === 'string' || typeof e.code === 'number') out.code = e.code;
  if (typeof e.retriable === 'boolean') out.retriable = e.retriable;
  if (!(err instanceof TandemError) && e.stack !== undefined) out.stack = clean(e.stack);
  if (e.cause !== undefined && depth < MAX_CAUSES) out.cause = serializeError(e.cause, depth + 1) as LoggedError | string;
  return out;
}

export interface LoggerSettings {
  level?: string;
  /** Where the JSON lines go; default stdout. Tests pass a stream to capture them. */
  destination?: pino.DestinationStream;
}

export function createLogger(component: string, settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? process.env.TANDEM_LOG_LEVEL ?? 'info',
    base: { component },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: serializeError },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    hooks: {
      logMethod(args, method) {
        method.apply(
          this,
          args.map((a) => (typeof a === 'string' ? truncateForLog(a) : a)) as Parameters<typeof method>,
        );
      },
    },
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}
