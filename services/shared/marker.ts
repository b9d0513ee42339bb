import { TandemError } from './errors';
import { keySlot } from './slot';
import { slotTag } from './slot-tags';

/**
 * The anti-loop marker (DESIGN §3). The sink in DC X applies each remote event
 * as
 *
 *   MULTI
 *   SET __tandem:{<slottag>}:o:<origin> <partition>:<offset>
 *   <the event's commands>
 *   EXEC
 *
 * The hash tag puts the marker in the event's slot, so it lives on the same
 * master and is propagated in the same MULTI. Source(X) recognises the marker as
 * the first write of a transaction and tags the rest with <origin>; the value
 * is the address of the last event applied for (slot, origin): its Kafka
 * partition, the offset of its record and its index in the record. That makes
 * the sink's apply exactly-once, also inside a record of many events.
 *
 * Grammar (ASCII):
 *   marker-key   = "__tandem:{" tag "}:o:" origin
 *   tag          = 1*3( DIGIT / ALPHA )          ; slot-tags.ts
 *   origin       = 1*64( DIGIT / ALPHA / "-" / "_" )
 *   marker-value = partition ":" offset [ ":" index ]   ; decimal, no sign, no leading zeros
 *
 * A value without an index (written by sinks before format v2 records, whose
 * records held one event) covers the whole record at that offset.
 */
export const RESERVED_PREFIX = '__tandem:';
const RESERVED_PREFIX_BYTES = Buffer.from(RESERVED_PREFIX, 'ascii');

const DC_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const MARKER_KEY = /^__tandem:\{([0-9A-Za-z]{1,3})\}:o:([A-Za-z0-9_-]{1,64})$/;
const MARKER_VALUE = /^(0|[1-9]\d{0,9}):(0|[1-9]\d{0,18})(?::(0|[1-9]\d{0,8}))?$/;

/** DC names end up in marker keys, topic names and headers: keep them to this alphabet. */
export function isValidDcName(name: string): boolean {
  return DC_NAME.test(name);
}

/** The marker key for events of `origin` in `slot`. */
export function markerKey(slot: number, origin: string): string {
  if (!isValidDcName(origin)) {
    throw new TandemError('CONFIG_INVALID', `DC name ${JSON.stringify(origin)} must match ${DC_NAME.source}`);
  }
  return `${RESERVED_PREFIX}{${slotTag(slot)}}:o:${origin}`;
}

/** Any key under the reserved prefix, marker or not. */
export function isReservedKey(key: Buffer | string): boolean {
  if (typeof key === 'string') return key.startsWith(RESERVED_PREFIX);
  // Asked for every key the source captures: the first byte rejects almost all, and compare() takes no view.
  const n = RESERVED_PREFIX_BYTES.length;
  return key.length >= n && key[0] === RESERVED_PREFIX_BYTES[0] && key.compare(RESERVED_PREFIX_BYTES, 0, n, 0, n) === 0;
}

export interface MarkerKey {
  tag: string;
  origin: string;
  /** the slot the key hashes to (that of its tag) */
  slot: number;
}

export function parseMarkerKey(key: Buffer | string): MarkerKey | undefined {
  if (!isReservedKey(key)) return undefined; // cheap reject for the common case
  const text = typeof key === 'string' ? key : key.toString('latin1');
  const m = MARKER_KEY.exec(text);
  if (m === null) return undefined;
  return { tag: m[1], origin: m[2], slot: keySlot(text) };
}

export function isMarkerKey(key: Buffer | string): boolean {
  return parseMarkerKey(key) !== undefined;
}

/** The address of an event: (partition, record offset, index in the record). */
export interface MarkerValue {
  partition: number;
  /** Kafka offsets are int64; bigint keeps the comparison exact. */
  offset: bigint;
  /** Index of the event in its record; undefined: the whole record (a value without an index). */
  index?: number;
}

export function formatMarkerValue(partition: number, offset: bigint | number | string, index: number): string {
  const off = BigInt(offset);
  if (!Number.isInteger(partition) || partition < 0 || off < 0n || !Number.isInteger(index) || index < 0) {
    throw new RangeError(`marker value needs a partition, offset and index >= 0, got ${partition}:${off}:${index}`);
  }
  return `${partition}:${off}:${index}`;
}

/**
 * Parses `<partition>:<offset>[:<index>]`. Returns undefined when malformed:
 * the caller must treat that as an error (never as "no marker", which would re-apply).
 */
export function parseMarkerValue(value: Buffer | string): MarkerValue | undefined {
  const m = MARKER_VALUE.exec(typeof value === 'string' ? value : value.toString('latin1'));
  if (m === null) return undefined;
  return m[3] === undefined ? { partition: Number(m[1]), offset: BigInt(m[2]) } : { partition: Number(m[1]), offset: BigInt(m[2]), index: Number(m[3]) };
}

/** True when the event at (offset, index) of the marker's partition is at or before the marker's address. */
export function isCoveredBy(marker: MarkerValue, offset: bigint, index: number): boolean {
  if (offset !== marker.offset) return offset < marker.offset;
  return marker.index === undefined || index <= marker.index;
}
