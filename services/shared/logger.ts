import pino, { type Logger, type LoggerOptions } from 'pino';

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
