import type { Message } from 'kafkajs';
import { changeRecordHeaders, frameRecord, recordFramingBytes } from '../../shared/change-record';
import type { PendingEvent } from './pending-batch';

/**
 * Cuts a transaction's events into Kafka records (docs/events.md "Wire
 * format"): each record is a run of consecutive events of one partition, in
 * append order, of at most `maxEvents` events and `maxBytes` bytes (bodies,
 * framing and headers). A big key's payload chunk is always a record of its
 * own, and so is an event larger than `maxBytes` on its own: the publisher has
 * checked it against the topic's max.message.bytes already.
 *
 * The record's timestamp is its last event's capture time, so a time seek
 * (offsetsForTimes: the first record whose timestamp is at or after T) never
 * skips a record holding an event captured at or after T.
 */
export interface PackLimits {
  maxEvents: number;
  maxBytes: number;
}

export interface PackedRecord {
  partition: number;
  message: Message;
  events: number;
}

/** Bytes the headers of a record take, at most (names, values, varint framing). */
export const RECORD_HEADERS_BYTES = 1024;

export function packRecords(events: readonly PendingEvent[], limits: PackLimits): PackedRecord[] {
  const byPartition = new Map<number, PendingEvent[][]>();
  const budget = limits.maxBytes - RECORD_HEADERS_BYTES;
  const open = new Map<number, { run: PendingEvent[]; bytes: number }>();
  for (const e of events) {
    let runs = byPartition.get(e.partition);
    if (runs === undefined) byPartition.set(e.partition, (runs = []));
    const current = open.get(e.partition);
    const size = e.body.length;
    const fits =
      current !== undefined &&
      !e.alone &&
      current.run.length < limits.maxEvents &&
      current.bytes + size + recordFramingBytes(current.run.length + 1) <= budget;
    if (fits) {
      current.run.push(e);
      current.bytes += size;
      continue;
    }
    const run = [e];
    runs.push(run);
    if (e.alone) open.delete(e.partition);
    else open.set(e.partition, { run, bytes: size });
  }
  const out: PackedRecord[] = [];
  for (const [partition, runs] of byPartition) {
    for (const run of runs) {
      out.push({
        partition,
        events: run.length,
        message: {
          partition,
          key: null,
          value: frameRecord(run.map((e) => e.body)),
          headers: changeRecordHeaders(run),
          timestamp: String(run[run.length - 1].capturedAt),
        },
      });
    }
  }
  return out;
}
