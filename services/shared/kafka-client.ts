import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions, type logCreator } from 'kafkajs';
import type { z } from 'zod';
import { resolveSecret } from './config';
import type { kafkaSchema } from './config-schema';
import { TandemError, errorMessage } from './errors';
import type { Logger } from './logger';

/**
 * Builds the kafkajs client from the `kafka` config section: TLS and SASL
 * (PLAIN, SCRAM-SHA-256/512) pass straight through; secrets are resolved from
 * env or files here and nowhere else. kafkajs logs go to pino.
 */
export type KafkaSettings = z.infer<typeof kafkaSchema>;

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs logs at error the attempts it is about to retry, e.g. every
 * CONCURRENT_TRANSACTIONS answer to AddPartitionsToTxn, which the broker
 * gives whenever a transaction starts while the previous one's markers are
 * being written: with back-to-back transactions that is most commits. Such
 * an attempt is not an error yet; when the retries run out, the caller sees
 * the error and logs it.
 */
const RETRIED = /CONCURRENT_TRANSACTIONS|another concurrent operation|Failed to send messages/;

export function pinoLogCreator(log: Logger): logCreator {
  return () => ({ level, log: entry }) => {
    const { message, ...rest } = entry;
    let target = LEVELS[level] ?? 'debug';
    // kafkajs is chatty at info (joins, rebalances); keep those at debug.
    if (target === 'info') target = 'debug';
    else if (target === 'error' && (typeof rest.retryCount === 'number' || RETRIED.test(`${message} ${String(rest.error ?? '')}`))) target = 'debug';
    log[target]({ kafka: rest }, message);
  };
}

// Tandem always names the partition of each record, so kafkajs' partitioner
// (and its warning about the v2 default) never applies.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

export function kafkaConfig(s: KafkaSettings, clientId: string, log?: Logger): KafkaConfig {
  const cfg: KafkaConfig = {
    clientId: `${s.clientId}-${clientId}`,
    brokers: s.brokers,
    logLevel: log ? logLevel.WARN : logLevel.NOTHING,
    logCreator: log ? pinoLogCreator(log) : undefined,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 10_000 },
    connectionTimeout: 5000,
  };
  if (s.tls) {
    cfg.ssl = {
      rejectUnauthorized: s.tls.rejectUnauthorized,
      ca: s.tls.ca ? [readFileSync(s.tls.ca, 'utf8')] : undefined,
      cert: s.tls.cert ? readFileSync(s.tls.cert, 'utf8') : undefined,
      key: s.tls.key ? resolveSecret(s.tls.key, 'kafka.tls.key') : undefined,
    };
  }
  if (s.sasl) {
    cfg.sasl = {
      mechanism: s.sasl.mechanism,
      username: s.sasl.username,
      password: resolveSecret(s.sasl.password, 'kafka.sasl.password'),
    } as SASLOptions;
  }
  return cfg;
}

export function createKafka(s: KafkaSettings, clientId: string, log?: Logger): Kafka {
  return new Kafka(kafkaConfig(s, clientId, log));
}

/** Topic names of a DC. */
export const topicsOf = (dc: string) => ({
  changes: `tandem.${dc}.changes`,
  checkpoints: `tandem.${dc}.checkpoints`,
  dlq: `tandem.${dc}.dlq`,
  conflicts: `tandem.${dc}.conflicts`,
});

const KAFKA_AUTH_FAILURE = /SASL .*authentication failed|Authentication failed|SaslAuthenticate|ILLEGAL_SASL_STATE|UNSUPPORTED_SASL_MECHANISM/i;
// Failures that retrying never heals (a dropped handshake is not one of them).
const TLS_FAILURE = /certificate|self[- ]signed|unable to (verify|get local issuer)|wrong version number|ERR_TLS_CERT|does not match certificate/i;

/**
 * The error for a first connection to Kafka that failed: bad credentials and
 * TLS trouble are named as such (they never heal by retrying), anything else
 * is "cannot reach".
 */
export function kafkaConnectError(s: KafkaSettings, err: unknown): TandemError {
  const text = errorMessage(err);
  const at = s.brokers.join(',');
  if (s.sasl && KAFKA_AUTH_FAILURE.test(text)) {
    return new TandemError(
      'KAFKA_AUTH',
      `authentication to Kafka at ${at} as ${s.sasl.username} (${s.sasl.mechanism}) failed: ${text} (check kafka.sasl.mechanism, kafka.sasl.username and kafka.sasl.password)`,
      { cause: err },
    );
  }
  if (s.tls && TLS_FAILURE.test(text)) {
    return new TandemError('KAFKA_AUTH', `TLS to Kafka at ${at} failed: ${text} (check kafka.tls.ca, and that the brokers' certificates name the host you connect to)`, { cause: err });
  }
  return TandemError.wrap('KAFKA_UNAVAILABLE', `cannot reach Kafka at ${at}`, err);
}
