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
      .describe('the longest a link position without new events (an idle link) waits for its Kafka transaction; events never wait for it (see lingerMs)'),
    lingerMs: z
      .number().int().min(0).max(1000).default(10)
      .describe('after a Kafka commit returns, how long events gather before the next transaction starts; a record\'s worth buffered (maxRecordBytes), or a full buffer (maxBufferedBytes), starts it at once. Kafka\'s linger.ms for transactions: it bounds the transactions per second (each writes a marker on every partition it touched) at a few ms of latency. 0: back to back'),
    maxEventsPerRecord: z
      .number().int().min(1).max(100_000).default(1000)
      .describe('most events in one Kafka record of the changes topic (a record is a run of consecutive events of one partition)'),
    maxRecordBytes: z
      .number().int().min(64 * 1024).default(1024 * 1024)
      .describe('most bytes in one Kafka record; the changes topic\'s max.message.bytes bounds it further. A big key\'s chunk is always a record of its own'),
    maxBufferedBytes: z
      .number().int().min(1024 * 1024).default(32 * 1024 * 1024)
      .describe('memory of buffered events (encoded bytes plus a fixed cost per event) before links stop reading their sockets (backpressure)'),
    maxEventPayloadBytes: z
      .number().int().min(64 * 1024).max(6 * 1024 * 1024).default(4 * 1024 * 1024)
      .describe('a RESTORE payload larger than this is sent as chunk events (the changes topic accepts 8 MiB messages)'),
    publish: z.boolean().default(false).describe('replicate PUBLISH/SPUBLISH (off by default: pub/sub is not data)'),
    topologyRefreshMs: z
      .number().int().min(100).max(60_000).default(1000)
      .describe('how often the source re-reads the cluster topology to link new masters and end links of removed ones (a link failure re-reads it at once)'),
    migrationOrderWaitMs: z
      .number().int().min(100).max(600_000).default(30_000)
      .describe('longest a link waits for the link of the master a slot came from (reshard) to publish that master\'s earlier writes; past it, it publishes anyway and logs a warning'),
    maxLinkFailures: z
      .number().int().min(1).default(1000)
      .describe('consecutive failures of one link before the source gives up and exits'),
  })
  .strict();

export const sourceConfigSchema = baseConfigSchema.extend({ source: sourceSectionSchema.default({}) }).strict();
export type SourceConfig = z.infer<typeof sourceConfigSchema>;
