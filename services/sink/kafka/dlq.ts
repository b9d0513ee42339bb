import type { Kafka, Message, Producer } from 'kafkajs';
import type { ChangeEvent } from '../../shared/change-event';
import { changeRecordHeaders, encodeChangeRecord } from '../../shared/change-record';
import { TandemError } from '../../shared/errors';
import { topicsOf } from '../../shared/kafka-client';
import type { Logger } from '../../shared/logger';
import type { SourceRecord } from '../apply/apply-item';

/**
 * The dead-letter queue `tandem.<dc>.dlq` (dc = the sink's own DC): records the
 * sink could not apply, so that nothing is lost and the partition keeps
 * flowing. For an event the sink could not apply, the value is a record of
 * that one event (replayable), with its record headers; for a record that
 * could not be decoded, the original bytes and headers, untouched. These are
 * added:
 *
 *   tandem-dlq-reason         decode | rejected | reserved-key | restore-too-large | restore-missing-chunks | control-unknown | invalid-event
 *   tandem-dlq-error          the error text (Redis reply, decode error…), cut at 4000 chars
 *   tandem-source-topic       tandem.<peer>.changes
 *   tandem-source-partition   decimal
 *   tandem-source-offset      decimal
 *   tandem-source-index       the event's index in its source record (absent for a decode failure)
 *   tandem-origin             the event's origin when known
 *   tandem-sink-dc            the DC whose sink wrote it
 *   tandem-dlq-at             ms since the epoch
 *
 * Delivery is at least once: a record is produced before its partition's
 * offset is committed, so a crash in between may repeat it.
 */
export type DlqReason =
  | 'decode'
  | 'rejected'
  | 'reserved-key'
  | 'restore-too-large'
  | 'restore-missing-chunks'
  | 'control-unknown'
  | 'invalid-event';

export const DLQ_HEADERS = {
  reason: 'tandem-dlq-reason',
  error: 'tandem-dlq-error',
  topic: 'tandem-source-topic',
  partition: 'tandem-source-partition',
  offset: 'tandem-source-offset',
  index: 'tandem-source-index',
  origin: 'tandem-origin',
  sinkDc: 'tandem-sink-dc',
  at: 'tandem-dlq-at',
} as const;

const MAX_ERROR_CHARS = 4000;

export interface DlqEntry {
  record: SourceRecord;
  /** The event of the record that could not be applied; absent when the record itself is the problem. */
  event?: { event: ChangeEvent; index: number };
  reason: DlqReason;
  error: string;
  origin?: string;
  extraHeaders?: Record<string, string>;
}

export function buildDlqMessage(entry: DlqEntry, sinkDc: string, now = Date.now()): Message {
  const headers: Record<string, Buffer | string> = {};
  for (const [name, value] of Object.entries(entry.event ? changeRecordHeaders([entry.event.event]) : (entry.record.headers ?? {}))) {
    if (value === undefined) continue;
    // A repeated header arrives as an array; keep its first value.
    const v = Array.isArray(value) ? value[0] : value;
    if (v !== undefined) headers[name] = v;
  }
  const error = entry.error.length > MAX_ERROR_CHARS ? `${entry.error.slice(0, MAX_ERROR_CHARS)}…(${entry.error.length - MAX_ERROR_CHARS} more chars)` : entry.error;
  Object.assign(headers, entry.extraHeaders ?? {}, {
    [DLQ_HEADERS.reason]: entry.reason,
    [DLQ_HEADERS.error]: error,
    [DLQ_HEADERS.topic]: entry.record.topic,
    [DLQ_HEADERS.partition]: String(entry.record.partition),
    [DLQ_HEADERS.offset]: entry.record.offset,
    [DLQ_HEADERS.sinkDc]: sinkDc,
    [DLQ_HEADERS.at]: String(now),
  });
  if (entry.origin !== undefined) headers[DLQ_HEADERS.origin] = entry.origin;
  if (entry.event === undefined) return { key: entry.record.key, value: entry.record.value, headers };
  headers[DLQ_HEADERS.index] = String(entry.event.index);
  return { key: entry.record.key, value: encodeChangeRecord([entry.event.event]), headers };
}

export class DlqProducer {
  private producer: Producer | undefined;
  readonly topic: string;

  constructor(
    private readonly kafka: Kafka,
    private readonly dc: string,
    private readonly log: Logger,
  ) {
    this.topic = topicsOf(dc).dlq;
  }

  async start(): Promise<void> {
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await this.producer.connect();
  }

  /** Produces and waits for acks=all; throws (retriable) so the batch is not committed without its DLQ records. */
  async send(entries: DlqEntry[]): Promise<void> {
    if (entries.length === 0) return;
    if (!this.producer) throw new TandemError('INTERNAL', 'DLQ producer used before start()');
    for (const e of entries) {
      this.log.warn(
        { reason: e.reason, topic: e.record.topic, partition: e.record.partition, offset: e.record.offset, origin: e.origin, err: e.error },
        'record sent to the DLQ',
      );
    }
    try {
      await this.producer.send({ topic: this.topic, acks: -1, messages: entries.map((e) => buildDlqMessage(e, this.dc)) });
    } catch (err) {
      throw TandemError.wrap('KAFKA_UNAVAILABLE', `cannot write ${entries.length} record(s) to ${this.topic}`, err);
    }
  }

  async stop(): Promise<void> {
    await this.producer?.disconnect();
  }
}
