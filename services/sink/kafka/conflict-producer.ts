import type { Kafka, Message, Producer } from 'kafkajs';
import { encodeConflictRecord, type ConflictRecord } from '../../shared/conflict-record';
import { topicsOf } from '../../shared/kafka-client';
import type { Logger } from '../../shared/logger';

/**
 * Writes conflict records to `tandem.<dc>.conflicts` (docs/sink.md
 * "Conflicts"), off the apply path: records queue here and go out in
 * batches. The queue is bounded (MAX_QUEUED records): while Kafka refuses
 * them, sends are retried every RETRY_MS, and past the bound the oldest are
 * dropped, each counted (`onLost`) and logged with its key; the conflict
 * itself is also counted in tandem_sink_conflicts_total when detected.
 *
 * Delivery is at most once over a crash: queued records, and conflicts of
 * applies whose marker the detector had not read yet, are not re-detected
 * after a restart (the applies are not repeated, so their events are not
 * judged again).
 */
const MAX_QUEUED = 10_000;
const BATCH = 500;
const LINGER_MS = 50;
const RETRY_MS = 1000;

export class ConflictProducer {
  private producer: Producer | undefined;
  private readonly queue: Message[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private stopped = false;
  readonly topic: string;

  constructor(
    private readonly kafka: Kafka,
    dc: string,
    private readonly log: Logger,
    private readonly onLost: (reason: 'overflow' | 'stopped', n: number) => void,
  ) {
    this.topic = topicsOf(dc).conflicts;
  }

  async start(): Promise<void> {
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    await this.producer.connect();
  }

  get queued(): number {
    return this.queue.length;
  }

  report(record: ConflictRecord, rawKey: Buffer): void {
    this.queue.push(encodeConflictRecord(record, rawKey));
    if (this.queue.length > MAX_QUEUED) {
      const lost = this.queue.splice(0, this.queue.length - MAX_QUEUED);
      this.onLost('overflow', lost.length);
      this.log.warn({ lost: lost.length, firstKey: lost[0]?.key?.toString().slice(0, 200) }, `conflict records dropped: more than ${MAX_QUEUED} queued while ${this.topic} refuses writes`);
    }
    this.schedule(LINGER_MS);
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined || this.sending !== undefined || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.sending = this.sendQueued().finally(() => {
        this.sending = undefined;
      });
    }, ms);
    this.timer.unref();
  }

  private async sendQueued(): Promise<void> {
    while (this.queue.length > 0 && this.producer !== undefined) {
      const batch = this.queue.slice(0, BATCH);
      try {
        await this.producer.send({ topic: this.topic, acks: -1, messages: batch });
      } catch (err) {
        // Retried under the queue's bound: a record is only lost to overflow or to stop(), and counted then.
        this.log.warn({ topic: this.topic, records: batch.length, err }, `cannot write conflict records; retrying in ${RETRY_MS} ms`);
        if (!this.stopped) setTimeout(() => this.schedule(0), RETRY_MS).unref();
        return;
      }
      this.queue.splice(0, batch.length);
    }
  }

  /** Sends what is queued (one attempt), then disconnects; what could not be sent is counted as lost. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sending;
    await this.sendQueued();
    if (this.queue.length > 0) {
      this.onLost('stopped', this.queue.length);
      this.log.warn({ lost: this.queue.length }, 'conflict records not written before the sink stopped');
      this.queue.length = 0;
    }
    await this.producer?.disconnect();
  }
}
