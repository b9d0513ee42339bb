import { z } from 'zod';
import { baseConfigSchema } from '../shared/config-schema';

/**
 * The source's configuration: the shared fields (dc, kafka, redis, http, log)
 * plus the `source` section. docs/configuration.md mirrors this file.
 */
export const sourceSectionSchema = z
  .object({
    listeningPort: z
      .number().int().min(0).max(65535).optional()
      .describe('port announced with REPLCONF listening-port (shown in the master\'s INFO replication); default: http.port'),
    commitIntervalMs: z
      .number().int().min(10).max(60_000).default(100)
      .describe('how often buffered events and checkpoints are committed in one Kafka transaction'),
    maxBufferedBytes: z
      .number().int().min(1024 * 1024).default(64 * 1024 * 1024)
      .describe('encoded events held in memory before links stop reading their sockets (backpressure)'),
    maxEventPayloadBytes: z
      .number().int().min(64 * 1024).max(6 * 1024 * 1024).default(4 * 1024 * 1024)
      .describe('a RESTORE payload larger than this is sent as chunk events (the changes topic accepts 8 MiB messages)'),
    publish: z.boolean().default(false).describe('replicate PUBLISH/SPUBLISH (off by default: pub/sub is not data)'),
    maxLinkFailures: z
      .number().int().min(1).default(1000)
      .describe('consecutive failures of one link before the source gives up and exits'),
  })
  .strict();

export const sourceConfigSchema = baseConfigSchema.extend({ source: sourceSectionSchema.default({}) }).strict();
export type SourceConfig = z.infer<typeof sourceConfigSchema>;
