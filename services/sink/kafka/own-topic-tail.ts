import type { Kafka } from 'kafkajs';
import { decodeChangeRecord } from '../../shared/change-record';
import { topicsOf } from '../../shared/kafka-client';
import type { Logger } from '../../shared/logger';
import { readPartitions } from '../../shared/partition-reader';
import type { ConflictDetector } from '../conflicts/conflict-detector';

/**
 * Follows this DC's own changes topic for conflict detection (docs/sink.md
 * "Conflicts"): the partitions that hold the slots the sink is assigned on
 * the peers' topics, from `lookbackMs` ago, feeding every event to the
 * detector in order per partition. It never joins the sink's group and
 * never commits (shared/partition-reader.ts; its own group per read, prefix
 * `tandem-conflicts-<dc>`).
 *
 * Every (re)start begins with an empty detector: at a new assignment, and
 * after a read failure (retried after RETRY_MS). The start point is found by
 * time, fixed before the call returns, so that every marker of a peer event
 * the sink applies from then on is read: its record is written after the
 * apply, hence after the start time.
 */
const RETRY_MS = 5000;

export interface OwnTopicTailOptions {
  kafka: Kafka;
  dc: string;
  lookbackMs: number;
  detector: ConflictDetector;
  log: Logger;
  /** after each batch of own records: flush counters, gauges */
  onBatch: () => void;
  onRestart: (reason: 'assignment' | 'failure') => void;
  /**
   * sink.conflicts: lww: the applied peer events still waiting for their
   * marker that stay across a restart (those of partitions still assigned),
   * and what reading waits for first: until the sink has expected again
   * every peer event it had applied (sink-service.ts), so that their markers
   * are read after them.
   */
  lww?: {
    keepPending: (origin: string, peerPartition: number) => boolean;
    gate: (signal: AbortSignal) => Promise<void>;
  };
}

export class OwnTopicTail {
  private abort: AbortController | undefined;
  private generation = 0;
  private stopped = false;
  readonly topic: string;

  constructor(private readonly o: OwnTopicTailOptions) {
    this.topic = topicsOf(o.dc).changes;
  }

  /** (Re)starts following `partitions` of the own topic; an empty list stops following. */
  follow(partitions: number[], reason: 'assignment' | 'failure' = 'assignment'): void {
    this.abort?.abort();
    this.abort = undefined;
    const generation = ++this.generation;
    this.o.detector.reset(this.o.lww?.keepPending);
    this.o.onRestart(reason);
    if (this.stopped || partitions.length === 0) return;
    const since = Date.now() - this.o.lookbackMs;
    const abort = new AbortController();
    this.abort = abort;
    void this.run(partitions, since, abort.signal, generation).catch((err: unknown) => {
      if (abort.signal.aborted || this.stopped) return;
      this.o.log.warn({ topic: this.topic, err }, `conflict detection stopped reading the own topic; it restarts from ${this.o.lookbackMs} ms back in ${RETRY_MS} ms (meanwhile applied peer writes are counted as dropped)`);
      setTimeout(() => {
        if (this.generation === generation && !this.stopped) this.follow(partitions, 'failure');
      }, RETRY_MS).unref();
    });
  }

  private async run(partitions: number[], since: number, signal: AbortSignal, generation: number): Promise<void> {
    const { kafka, detector, log } = this.o;
    if (this.o.lww !== undefined) await this.o.lww.gate(signal);
    if (signal.aborted || this.generation !== generation) return;
    const admin = kafka.admin();
    await admin.connect();
    let starts: { partition: number; offset: string }[];
    try {
      starts = await admin.fetchTopicOffsetsByTimestamp(this.topic, since);
    } finally {
      await admin.disconnect();
    }
    if (signal.aborted || this.generation !== generation) return;
    const ranges = partitions.map((partition) => ({ partition, from: BigInt(starts.find((s) => s.partition === partition)?.offset ?? '0') }));
    for (const r of ranges) detector.startPartition(r.partition, r.from);
    log.info({ topic: this.topic, partitions, since: new Date(since).toISOString() }, 'conflict detection follows the own topic');
    await readPartitions(kafka, {
      topic: this.topic,
      ranges,
      groupPrefix: `tandem-conflicts-${this.o.dc}`,
      signal,
      stallMs: Number.POSITIVE_INFINITY, // an idle topic is no failure; a broken connection ends the read (CRASH)
      concurrency: Math.min(partitions.length, 16),
      onMessages: (partition, messages) => {
        if (this.generation !== generation) return;
        for (const m of messages) {
          if (m.value === null) continue;
          let events;
          try {
            events = decodeChangeRecord(m.value);
          } catch (err) {
            // The sink's own topic: its source wrote it. Nothing of it can be judged; say so once per record.
            log.warn({ topic: this.topic, partition, offset: m.offset, err }, 'own record does not decode; conflict detection skips it');
            continue;
          }
          const offset = BigInt(m.offset);
          for (let index = 0; index < events.length; index++) detector.onOwnEvent(events[index], { partition, offset, index });
        }
        this.o.onBatch();
      },
    });
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }
}
