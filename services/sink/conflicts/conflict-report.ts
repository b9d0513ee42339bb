import { CONFLICT_FORMAT, textOf, type ConflictRecord, type ConflictWrite } from '../../shared/conflict-record';
import { topicsOf } from '../../shared/kafka-client';
import { formatMarkerValue } from '../../shared/marker';
import type { Conflict, WriteRecord } from './conflict-detector';

/** The record of `tandem.<dc>.conflicts` for one conflict the detector of DC `dc` found (shared/conflict-record.ts). */
export function conflictRecordOf(c: Conflict, dc: string, now = Date.now()): ConflictRecord {
  const key = textOf([c.key]);
  const field = c.field === undefined ? undefined : textOf([c.field]);
  return {
    format: CONFLICT_FORMAT,
    dc,
    peer: c.peer.origin,
    detectedAt: now,
    slot: c.slot,
    key: key.text[0],
    keyEncoding: key.encoding,
    field: field?.text[0] ?? null,
    fieldEncoding: field?.encoding ?? null,
    // The local write is in this DC's topic; the peer's, in the topic of its origin (a sink applies only those).
    local: writeOf(c.local, topicsOf(c.local.source).changes),
    peerWrite: { ...writeOf(c.peer, topicsOf(c.peer.origin).changes), stamp: c.peer.stamp ?? null },
  };
}

function writeOf(w: WriteRecord, topic: string): ConflictWrite {
  const command = textOf(w.argv);
  return {
    origin: w.origin,
    source: w.source,
    kind: w.kind,
    topic,
    address: formatMarkerValue(w.address.partition, w.address.offset, w.address.index),
    capturedAt: w.capturedAt,
    class: w.cls,
    command: command.text,
    encoding: command.encoding,
    truncated: w.truncated,
    commands: w.commands,
  };
}
