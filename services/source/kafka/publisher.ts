import type { Kafka, Message, Producer } from 'kafkajs';
import { EVENT_FLAGS, eventPartition, type ChangeEvent } from '../../shared/change-event';
import { EventBodyWriter, recordFramingBytes } from '../../shared/change-record';
import { encodeCheckpoint, loadCheckpointTopic, txSequenceKey, type CheckpointRecord } from '../../shared/checkpoint';
import { TandemError, errorMessage } from '../../shared/errors';
import { topicsOf } from '../../shared/kafka-client';
import { kafkajsPatched } from '../../shared/kafkajs-patch';
import type { Logger } from '../../shared/logger';
import { POLICIES, backoffDelay, sleep } from '../../shared/retry';
import { PendingBatch, type Batch, type CheckpointValue } from './pending-batch';
import { packRecords, RECORD_HEADERS_BYTES } from './record-packer';

/**
 * Exactly-once publishing of change events (DESIGN §2 "Checkpoints").
 *
 * Links append events; a commit loop puts every buffered event, packed into
 * records of consecutive events of one partition (record-packer.ts), and the
 * latest checkpoint of each link whose position moved, into one Kafka
 * transaction. A consumer reading read_committed therefore sees events and the
 * checkpoint after them together, or neither; after a crash each link resumes
 * (PSYNC) from its committed checkpoint, and the events past it, never
 * committed, are streamed again by the master.
 *
 * Group commit: the next transaction starts as soon as the previous commit
 * returns and `lingerMs` has passed since, or at once when a record's worth
 * of events (`maxRecordBytes`) is buffered or the buffer is full
 * (`maxBufferedBytes`, the links waiting); so an event waits at most one
 * commit and one linger, and never a linger under a backlog. The linger is
 * Kafka's `linger.ms` for transactions: back to back, a source commits
 * 100-250 transactions a second at any write rate, each with a marker on
 * every partition it touched, and that alone kept the broker busy
 * (docs/source.md "Group commit, with a linger"). Only a checkpoint without
 * events (an idle link's position) waits up to `commitIntervalMs`, to keep
 * idle sources from committing empty transactions back to back.
 *
 * One transactional id per source (`tandem-source-<dc>`): a second source
 * started by mistake fences the first (its next commit fails with
 * ProducerFenced and it stops), so two sources never interleave.
 *
 * Bounded memory: `append` resolves at once while the buffer holds fewer than
 * `maxBufferedBytes`; past that it waits for the next commit. While Kafka is
 * down the commit is retried with backoff and the buffer stays full, so the
 * links stop reading their sockets (backpressure to the masters).
 */
export interface PublisherOptions {
  kafka: Kafka;
  dc: string;
  partitions: number;
  transactionalId: string;
  log: Logger;
  /** The longest a checkpoint without events waits for its transaction. */
  commitIntervalMs: number;
  /** Time after a commit returns before the next transaction starts, unless `maxRecordBytes` (or a full buffer) wait (0: at once). */
  lingerMs: number;
  maxBufferedBytes: number;
  /** Most events in one Kafka record. */
  maxEventsPerRecord: number;
  /** Most bytes in one Kafka record (further bounded by maxMessageBytes). */
  maxRecordBytes: number;
  /** The changes topic's max.message.bytes: the largest record batch Kafka takes for it. */
  maxMessageBytes: number;
  /** An oversize event of another DC's origin was left out of the topic (no sink applies it). */
  onSkipped?: (event: ChangeEvent, bytes: number) => void;
  /** Called after each commit, for metrics. */
  onCommit?: (info: { events: number; records: number; bytes: number; checkpoints: number; ms: number; eventsByKind: Record<string, number> }) => void;
  onCommitError?: (err: Error) => void;
  /** A commit whose outcome was unknown, once read back: committed (not sent again) or aborted (sent again). */
  onUncertainCommit?: (outcome: 'committed' | 'aborted') => void;
  /**
   * Fault injection for tests only: called around `EndTxn`; `lose-reply`
   * throws after the commit succeeded, `lose-request` throws instead of
   * committing. Both look to the publisher like a commit whose reply was lost.
   */
  faults?: { commit?: () => 'lose-reply' | 'lose-request' | undefined };
}

/**
 * Most events, and about the most event bytes, in one Kafka transaction. A
 * burst larger than this is committed in several transactions back to back,
 * so sinks see it progressively and checkpoints keep moving. A transaction
 * costs a fixed round of AddPartitionsToTxn, EndTxn and markers on every
 * partition it touched, so a backlog is worked off in large ones.
 */
export const MAX_EVENTS_PER_TRANSACTION = 50_000;
export const MAX_TRANSACTION_BYTES = 8 * 1024 * 1024;

/**
 * Records per producer send. kafkajs groups a send's messages by partition
 * in time quadratic in the messages per partition (groupMessagesPerPartition
 * copies the array per message); 60k messages over 3 partitions blocked the
 * event loop for 10 s in bench/source-throughput. Slices keep it linear.
 */
const MESSAGES_PER_SEND = 1000;

/**
 * The transactional producer's own retry settings. kafkajs answers
 * CONCURRENT_TRANSACTIONS (AddPartitionsToTxn while the previous
 * transaction's markers are still being written, about every other time when
 * transactions run back to back) with a retry; the shared client's 200 ms
 * first retry put that much on every commit, and 5 ms still most of a
 * transaction's time. 1 ms: with the kafkajs patch a retry is one
 * AddPartitionsToTxn request and nothing else (kafkajs-patch.ts). 14 retries
 * keep the whole window about 5 s, as 12 from 5 ms did, so a broker blip is
 * still ridden out inside the transaction. A failure past these retries
 * fails the commit, which is retried whole with backoff.
 */
export const TRANSACTION_RETRY = { initialRetryTime: 1, maxRetryTime: 1000, retries: 14, factor: 0.2, multiplier: 2 };

/**
 * Room left in a record batch for its header and each record's framing, key
 * and headers: an event may be at most maxMessageBytes minus this.
 */
export const RECORD_BATCH_OVERHEAD = 64 * 1024;

/** Errors after which this producer may never commit again. */
const FATAL = /ProducerFenced|InvalidProducerEpoch|TransactionalIdAuthorizationFailed|fenced/i;

export class ChangePublisher {
  private producer: Producer | undefined;
  private readonly pending = new PendingBatch();
  private readonly bodies = new EventBodyWriter();
  private waiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** The commit that is due: at once, after the linger (events), or on a timer (checkpoints only, or a backoff). */
  private scheduled: 'now' | 'linger' | 'timer' | undefined;
  private flushing: Promise<void> | undefined;
  private fatal: TandemError | undefined;
  private stopped = false;
  private failures = 0;
  /** When the last transaction committed (0: none yet). */
  lastCommitAt = 0;
  /** When the last commit attempt returned, committed or not: the linger counts from it. */
  private lastReturnAt = 0;
  /** Checkpoint keys with a committed record (tombstoned ones removed). */
  private readonly committedKeys = new Set<string>();

  /** Offset of the committed checkpoint per key (replid). */
  private readonly committedOffsets = new Map<string, number>();
  /** Called after a commit with the keys whose checkpoint it moved. */
  private readonly committedListeners = new Set<(keys: ReadonlySet<string>) => void>();

  /**
   * Checkpoints read back from Kafka at start are committed too; `txSeq` is
   * the last transaction sequence committed under our transactional id.
   */
  knowCommitted(checkpoints: ReadonlyMap<string, CheckpointRecord>, txSeq = 0): void {
    for (const [k, c] of checkpoints) {
      this.committedKeys.add(k);
      this.committedOffsets.set(k, c.offset);
    }
    this.txSeq = txSeq;
  }

  /** Sequence number of the last transaction known committed. */
  private txSeq = 0;
  /**
   * A transaction whose EndTxn failed: it may have committed. Nothing is sent
   * until `resolveUncertain` has read back which (its events would otherwise
   * be in the topic twice, and a sink would apply them twice).
   */
  private uncertain: { seq: number; batch: Batch; records: number; started: number } | undefined;

  /** The stream offset committed under `key` (a replid), if any. */
  committedOffset(key: string): number | undefined {
    return this.committedOffsets.get(key);
  }

  onCheckpointsCommitted(listener: (keys: ReadonlySet<string>) => void): () => void {
    this.committedListeners.add(listener);
    return () => this.committedListeners.delete(listener);
  }

  /** True once a checkpoint under `key` is committed to Kafka. */
  hasCommittedCheckpoint(key: string): boolean {
    return this.committedKeys.has(key);
  }
  readonly topic: string;
  readonly checkpointTopic: string;

  constructor(private readonly o: PublisherOptions) {
    this.topic = topicsOf(o.dc).changes;
    this.checkpointTopic = topicsOf(o.dc).checkpoints;
  }

  /** Connects the transactional producer; this fences any older producer with the same id. */
  async start(): Promise<void> {
    if (!kafkajsPatched()) {
      this.o.log.warn('kafkajs is installed without Tandem\'s patch (patches/, applied by npm install; was it run with --ignore-scripts?): replication works, but every Kafka transaction costs about three more requests; run `node scripts/apply-patches.js` in Tandem\'s folder');
    }
    this.producer = await this.connectProducer();
    this.schedule();
  }

  private async connectProducer(): Promise<Producer> {
    const p = this.o.kafka.producer({
      transactionalId: this.o.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 60_000,
      allowAutoTopicCreation: false,
      retry: TRANSACTION_RETRY,
    });
    await p.connect();
    return p;
  }

  /** The error that ended publishing, if any. Links check it to stop. */
  get failure(): TandemError | undefined {
    return this.fatal;
  }

  /** Consecutive failed commits (0 while Kafka takes them). */
  get commitFailures(): number {
    return this.failures;
  }

  get bufferedBytes(): number {
    return this.pending.bytes;
  }

  /**
   * Buffers an event (and the link's checkpoint after it). Resolves when there
   * is room; rejects once publishing has failed for good.
   */
  async append(event: ChangeEvent, checkpoint?: { key: string; record: CheckpointValue; retire?: string }): Promise<void> {
    if (this.fatal) throw this.fatal;
    const body = this.bodies.encode(event);
    const size = body.length + recordFramingBytes(1) + RECORD_HEADERS_BYTES;
    const limit = this.o.maxMessageBytes - RECORD_BATCH_OVERHEAD;
    if (size > limit) {
      const key = event.commands[0]?.[1]?.toString('latin1').slice(0, 100);
      const what = `a ${event.kind} event of ${size} bytes (slot ${event.slot}, key ${JSON.stringify(key)}, origin ${event.origin}, offset ${event.replOffset})`;
      if (event.origin !== this.o.dc) {
        // Typically a peer's big key that our sink wrote as one RESTORE. No sink
        // applies an event of another DC's origin from this topic (the origin
        // rule), and that DC's own topic holds the write; so leave it out rather
        // than stop replicating this DC. Logged and counted: this topic's history
        // (audit, replay --origin any) lacks it.
        this.o.log.warn({ bytes: size, limit, slot: event.slot, key, origin: event.origin, offset: event.replOffset }, `${what} exceeds ${this.topic}'s max.message.bytes; left out (another DC's write, applied from its own topic)`);
        this.o.onSkipped?.(event, size);
        if (checkpoint) this.setCheckpoint(checkpoint.key, checkpoint.record, checkpoint.retire);
        return;
      }
      // Kafka would refuse it on every retry and the source would stall for
      // good; stop instead, with the fix. The checkpoint has not moved past
      // this event, so a restart after the fix resumes with it: nothing is lost.
      const err = new TandemError(
        'EVENT_TOO_LARGE',
        `${what} is larger than ${this.topic} takes (max.message.bytes ${this.o.maxMessageBytes}, ` +
          `less ${RECORD_BATCH_OVERHEAD} for framing). Raise max.message.bytes on ${this.topic} ` +
          '(and the brokers\' message.max.bytes / replica.fetch.max.bytes if lower), then restart the source: ' +
          'it resumes from its last checkpoint, so nothing is lost',
      );
      this.fail(err);
      throw err;
    }
    this.pending.append({
      partition: eventPartition(event, this.o.partitions),
      body,
      origin: event.origin,
      source: event.source,
      kind: event.kind,
      capturedAt: event.capturedAt,
      alone: event.flags.includes(EVENT_FLAGS.payloadChunk),
    });
    if (checkpoint) this.setCheckpoint(checkpoint.key, checkpoint.record, checkpoint.retire);
    this.schedule();
    while (this.pending.bytes >= this.o.maxBufferedBytes && !this.fatal) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.fatal) throw this.fatal;
  }

  /** Records a link's position without an event (idle stream, end of an RDB). `retire` tombstones an old key. */
  setCheckpoint(key: string, record: CheckpointValue, retire?: string): void {
    if (retire !== undefined && retire !== key) this.pending.checkpoint(retire, null);
    this.pending.checkpoint(key, record);
    this.schedule();
  }

  /** Tombstones a checkpoint whose link ended for good (its master left the cluster). */
  retireCheckpoint(key: string): void {
    this.pending.checkpoint(key, null);
    this.schedule();
  }

  /**
   * Makes sure a commit is coming: when events wait, `lingerMs` after the
   * last commit returned, or at once (next turn of the event loop, so the
   * events appended in this turn share it) when that has passed, a
   * record's worth is buffered or the buffer is full; after `commitIntervalMs` when only
   * checkpoints wait; after a backoff when the last commit failed. While a
   * commit runs nothing is scheduled; its end schedules the next.
   */
  private schedule(): void {
    if (this.stopped || this.fatal || this.flushing || !this.producer || (this.pending.empty && this.uncertain === undefined)) return;
    const events = this.failures === 0 && this.pending.length > 0;
    if (this.scheduled === 'now' || (this.scheduled === 'timer' && !events)) return;
    // A record's worth of events cuts a linger short (checked per append, without a clock read); so does a
    // full buffer, whose links wait for this commit.
    const full = this.pending.bytes >= Math.min(this.o.maxRecordBytes, this.o.maxBufferedBytes);
    if (this.scheduled === 'linger' && !full) return;
    clearTimeout(this.timer); // a checkpoint's timer gives way to events, a linger to a full record
    const run = () => {
      this.scheduled = undefined;
      this.flush().finally(() => {
        this.lastReturnAt = Date.now();
        this.schedule();
      });
    };
    const linger = events && !full ? this.lastReturnAt + this.o.lingerMs - Date.now() : 0;
    if (events && linger > 0) {
      this.scheduled = 'linger';
      this.timer = setTimeout(run, linger);
    } else if (events) {
      this.scheduled = 'now';
      this.immediate = setImmediate(run);
    } else {
      this.scheduled = 'timer';
      const wait = this.failures > 0 ? backoffDelay(POLICIES.kafkaCommit, this.failures) : this.o.commitIntervalMs;
      this.timer = setTimeout(run, wait);
    }
  }

  /** Commits what is buffered now. Concurrent calls share one commit. */
  flush(): Promise<void> {
    this.flushing ??= this.commitOnce().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async commitOnce(): Promise<void> {
    if (this.fatal || !this.producer) return;
    if (this.uncertain !== undefined && !(await this.resolveUncertain())) return;
    if (this.pending.empty) return;
    const batch = this.pending.take(MAX_EVENTS_PER_TRANSACTION, MAX_TRANSACTION_BYTES);
    const started = Date.now();
    const seq = this.txSeq + 1;
    let committing = false;
    let records = 0;
    try {
      const packed = packRecords(batch.events, {
        maxEvents: this.o.maxEventsPerRecord,
        maxBytes: Math.min(this.o.maxRecordBytes, this.o.maxMessageBytes - RECORD_BATCH_OVERHEAD),
      });
      records = packed.length;
      await this.send(packed.map((r) => r.message), batch, seq, () => {
        committing = true;
      });
      this.committed(batch, seq, records, started);
    } catch (err) {
      this.failures++;
      const message = errorMessage(err);
      const e = err instanceof Error ? err : new Error(message);
      this.o.onCommitError?.(e);
      if (FATAL.test(`${(err as { type?: string }).type ?? ''} ${(err as Error).name ?? ''} ${message}`)) {
        this.pending.restore(batch);
        this.fail(new TandemError('KAFKA_FENCED', `the transactional producer ${this.o.transactionalId} was fenced (another source with the same id started?): ${message}`, { cause: err }));
        return;
      }
      if (committing) {
        this.uncertain = { seq, batch, records, started };
        this.o.log.warn({ err, txSeq: seq, events: batch.events.length }, 'Kafka commit failed in EndTxn: it may have committed; reading back which before anything is sent again');
      } else {
        this.pending.restore(batch);
        this.o.log.warn({ err, attempt: this.failures, bufferedBytes: this.pending.bytes }, 'Kafka commit failed; retrying with backoff, links pause while the buffer is full');
      }
      // A producer whose transaction failed may be stuck in an error state; start a fresh one. Its
      // InitProducerId also completes the old transaction (commit or abort) before it returns.
      await this.producer.disconnect().catch(() => undefined);
      this.producer = await this.connectProducer().catch((connectErr: unknown) => {
        this.o.log.warn({ err: connectErr }, 'cannot reconnect the producer yet');
        return this.producer;
      });
    }
  }

  /**
   * Reads the transaction sequence back from the checkpoints topic
   * (read_committed; the new producer's InitProducerId has completed the old
   * transaction): equal to the uncertain one's, it committed and its events
   * are not sent again; lower, it was aborted and its events go back to the
   * front of the buffer. False while Kafka cannot be read (tried again at the
   * next commit; nothing is sent meanwhile).
   */
  private async resolveUncertain(): Promise<boolean> {
    const u = this.uncertain!;
    let seq: number;
    try {
      seq = (await loadCheckpointTopic(this.o.kafka, this.o.dc)).txSeqs.get(this.o.transactionalId) ?? 0;
    } catch (err) {
      this.o.log.warn({ err, txSeq: u.seq }, 'cannot read back the outcome of the uncertain commit yet');
      return false;
    }
    this.uncertain = undefined;
    if (seq >= u.seq) {
      this.o.log.warn({ txSeq: u.seq, events: u.batch.events.length }, 'the uncertain commit had committed; its events are not sent again');
      this.o.onUncertainCommit?.('committed');
      this.committed(u.batch, u.seq, u.records, u.started);
    } else {
      this.o.log.warn({ txSeq: u.seq, committedTxSeq: seq, events: u.batch.events.length }, 'the uncertain commit was aborted; its events are sent again');
      this.o.onUncertainCommit?.('aborted');
      this.pending.restore(u.batch);
    }
    return true;
  }

  private committed(batch: Batch, seq: number, records: number, started: number): void {
    this.txSeq = seq;
    this.failures = 0;
    this.lastCommitAt = Date.now();
    for (const [key, record] of batch.checkpoints) {
      if (record) {
        this.committedKeys.add(key);
        this.committedOffsets.set(key, record.offset);
      } else {
        this.committedKeys.delete(key);
        this.committedOffsets.delete(key);
      }
    }
    if (batch.checkpoints.size > 0) {
      const keys = new Set(batch.checkpoints.keys());
      for (const l of this.committedListeners) l(keys);
    }
    const eventsByKind: Record<string, number> = {};
    for (const e of batch.events) eventsByKind[e.kind] = (eventsByKind[e.kind] ?? 0) + 1;
    this.o.onCommit?.({ events: batch.events.length, records, bytes: batch.bytes, checkpoints: batch.checkpoints.size, ms: Date.now() - started, eventsByKind });
    this.release();
  }

  /** One transaction: the records, then the checkpoints, in as few produce requests as the limits allow. */
  private async send(messages: Message[], batch: Batch, seq: number, onCommitting: () => void): Promise<void> {
    const tx = await this.producer!.transaction();
    try {
      const slices = sendSlices(messages, MESSAGES_PER_SEND, this.o.maxMessageBytes - RECORD_BATCH_OVERHEAD);
      const last = slices.pop() ?? [];
      for (const slice of slices) await tx.send({ topic: this.topic, messages: slice, acks: -1 });
      const topicMessages = last.length > 0 ? [{ topic: this.topic, messages: last }] : [];
      const records = [...batch.checkpoints].map(([key, record]) => ({ key, value: record ? encodeCheckpoint(record) : null }));
      // The transaction's sequence, read back after an uncertain commit (resolveUncertain).
      records.push({ key: txSequenceKey(this.o.transactionalId), value: Buffer.from(JSON.stringify({ txSeq: seq, updatedAt: Date.now() })) });
      topicMessages.push({ topic: this.checkpointTopic, messages: records });
      await tx.sendBatch({ topicMessages, acks: -1 });
      onCommitting();
      const fault = this.o.faults?.commit?.();
      if (fault === 'lose-request') throw new Error('injected fault: the EndTxn request was lost');
      await tx.commit();
      if (fault === 'lose-reply') throw new Error('injected fault: the EndTxn reply was lost');
    } catch (err) {
      await tx.abort().catch((abortErr: unknown) => this.o.log.warn({ err: abortErr }, 'transaction abort failed after a failed commit'));
      throw err;
    }
  }

  private release(): void {
    if (this.pending.bytes >= this.o.maxBufferedBytes) return;
    for (const w of this.waiters.splice(0)) w();
  }

  private fail(err: TandemError): void {
    this.fatal ??= err;
    for (const w of this.waiters.splice(0)) w();
  }

  /** Commits what is buffered (bounded by `timeoutMs`), then disconnects. */
  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    const deadline = Date.now() + timeoutMs;
    while (!this.fatal && (!this.pending.empty || this.flushing || this.uncertain !== undefined) && Date.now() < deadline) {
      await this.flush();
      if (this.failures > 0) await sleep(250);
    }
    const left = this.pending.length;
    if (left > 0) {
      this.o.log.warn({ events: left }, 'stopping with uncommitted events; the links resume from their committed checkpoints, so nothing is lost');
    }
    this.fail(new TandemError('INTERNAL', 'publisher stopped'));
    await this.producer?.disconnect();
  }
}

/** A record's bytes in a batch: value, key, headers, plus its varint framing (at most ~64 bytes). */
export function recordSize(m: { key?: string | Buffer | null; value: string | Buffer | null; headers?: Record<string, unknown> }): number {
  let n = 64 + byteLength(m.value) + byteLength(m.key ?? null);
  for (const [k, v] of Object.entries(m.headers ?? {})) n += Buffer.byteLength(k) + 8 + byteLength(v as string | Buffer | null);
  return n;
}

function byteLength(v: string | Buffer | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

/**
 * Cuts messages into sends of at most `maxCount` messages and `maxBytes`
 * (recordSize). kafkajs puts a send's messages for one partition into one
 * record batch, and Kafka's max.message.bytes bounds the batch, not the
 * record: two 4 MiB chunk events of one key in one send would be refused together.
 */
export function sendSlices<T extends { key?: string | Buffer | null; value: Buffer | string | null; headers?: Record<string, unknown> }>(
  messages: T[],
  maxCount: number,
  maxBytes: number,
): T[][] {
  const slices: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = recordSize(m);
    if (current.length > 0 && (current.length >= maxCount || bytes + size > maxBytes)) {
      slices.push(current);
      current = [];
      bytes = 0;
    }
    current.push(m);
    bytes += size;
  }
  if (current.length > 0) slices.push(current);
  return slices;
}
