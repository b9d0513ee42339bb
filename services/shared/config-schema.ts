import { z } from 'zod';
import { secret } from './config';

/**
 * The configuration shared by every Tandem process. Each field is declared with
 * its validation and its description; docs/configuration.md mirrors this file.
 * Source and sink extend it with their own sections.
 */
const hostPort = z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port');

const tls = z
  .object({
    ca: z.string().optional().describe('path of a PEM CA bundle to trust'),
    cert: z.string().optional().describe('path of a PEM client certificate'),
    key: secret.optional().describe('the client private key, by reference'),
    rejectUnauthorized: z.boolean().default(true).describe('verify the server certificate'),
  })
  .strict();

export const kafkaSchema = z
  .object({
    brokers: z.array(hostPort).min(1).describe('bootstrap brokers, host:port'),
    clientId: z.string().default('tandem').describe('Kafka client id prefix'),
    tls: tls.optional().describe('TLS to the brokers; absent means plaintext'),
    sasl: z
      .object({
        mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).describe('SASL mechanism'),
        username: z.string().min(1).describe('SASL user'),
        password: secret.describe('SASL password, by reference'),
      })
      .strict()
      .optional(),
  })
  .strict();

export const redisSchema = z
  .object({
    nodes: z.array(hostPort).min(1).describe('seed nodes of the local Redis Cluster'),
    username: z.string().optional().describe('ACL user; absent means the default user'),
    password: secret.optional().describe('password, by reference; absent means no AUTH'),
    tls: tls.optional().describe('TLS to the Redis nodes; absent means plaintext'),
  })
  .strict();

export const httpSchema = z
  .object({
    host: z.string().default('0.0.0.0').describe('address of the /metrics, /healthz and /readyz server'),
    port: z.number().int().min(0).max(65535).default(9464).describe('port of that server; 0 picks a free one'),
  })
  .strict();

export const dcName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'a DC name is 1-32 characters of a-z, 0-9 and -, starting with a letter or digit');

export const baseConfigSchema = z
  .object({
    dc: dcName.describe('this data center; names topics tandem.<dc>.* and tags origins'),
    kafka: kafkaSchema,
    redis: redisSchema,
    http: httpSchema.default({}),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') })
      .strict()
      .default({}),
  })
  .strict();

export type BaseConfig = z.infer<typeof baseConfigSchema>;
