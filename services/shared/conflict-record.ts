/**
 * A record of `tandem.<dc>.conflicts` (docs/sink.md "Conflicts"): one
 * conflict the sink of DC <dc> detected, i.e. a peer's write it applied to a
 * target (key, or hash field) that a local write of <dc> had also written,
 * neither having seen the other. Written by the sink, read by
 * `tandem conflicts` and by anyone with a Kafka client: the value is JSON.
 *
 *   key      the Redis key (raw bytes)
 *   value    {
 *     "format": 1,
 *     "dc": "b",                  the DC whose sink detected it
 *     "peer": "a",                the DC of the other write
 *     "detectedAt": 1733400000000,
 *     "slot": 1234,
 *     "key": "user:1",  "keyEncoding": "utf8" | "base64",
 *     "field": null | "f", "fieldEncoding": ...,   hash field commands
 *     "local": <write>,           this DC's write
 *     "peerWrite": <write>        the peer's write, plus "stamp"
 *   }
 *   <write> = {
 *     "origin", "source", "kind", "topic",
 *     "address": "partition:offset:index"   in `topic`: `tandem audit` shows the whole event
 *     "capturedAt": ms, "class": "overwrite" | "commutative" | "other",
 *     "command": ["SET", "user:1", "v"], "encoding": "utf8" | "base64",
 *     "truncated": bool           an argument was cut at sink.conflictDetection.maxValueBytes
 *     "commands": n               commands in the event (a transaction)
 *   }
 *   "stamp" (peerWrite only): what the peer had applied of this DC in the
 *   slot when it wrote ("partition:offset:index" in this DC's topic), or null
 *   when it had applied nothing there.
 *
 * Headers: tandem-conflict-dc, tandem-conflict-peer, tandem-conflict-at (ms),
 * so a reader can filter without parsing.
 */
import type { Message } from 'kafkajs';

export const CONFLICT_FORMAT = 1;

export const CONFLICT_HEADERS = {
  dc: 'tandem-conflict-dc',
  peer: 'tandem-conflict-peer',
  at: 'tandem-conflict-at',
} as const;

export type TextEncoding = 'utf8' | 'base64';

export interface ConflictWrite {
  origin: string;
  source: string;
  kind: string;
  topic: string;
  address: string;
  capturedAt: number;
  class: string;
  command: string[];
  encoding: TextEncoding;
  truncated: boolean;
  commands: number;
}

export interface ConflictRecord {
  format: number;
  dc: string;
  peer: string;
  detectedAt: number;
  slot: number;
  key: string;
  keyEncoding: TextEncoding;
  field: string | null;
  fieldEncoding: TextEncoding | null;
  local: ConflictWrite;
  peerWrite: ConflictWrite & { stamp: string | null };
}

/** Text of bytes: UTF-8 when they are valid UTF-8, else base64 (said by the encoding). */
export function textOf(parts: readonly Buffer[]): { text: string[]; encoding: TextEncoding } {
  const utf8 = parts.every((b) => Buffer.from(b.toString('utf8'), 'utf8').equals(b));
  return { text: parts.map((b) => b.toString(utf8 ? 'utf8' : 'base64')), encoding: utf8 ? 'utf8' : 'base64' };
}

export function bytesOf(text: string, encoding: TextEncoding): Buffer {
  return Buffer.from(text, encoding);
}

export function encodeConflictRecord(c: ConflictRecord, rawKey: Buffer): Message {
  return {
    key: rawKey,
    value: JSON.stringify(c),
    headers: { [CONFLICT_HEADERS.dc]: c.dc, [CONFLICT_HEADERS.peer]: c.peer, [CONFLICT_HEADERS.at]: String(c.detectedAt) },
  };
}

/** Parses a record's value; throws on anything that is not a conflict record of a known format. */
export function decodeConflictRecord(value: Buffer | string | null): ConflictRecord {
  if (value === null) throw new Error('conflict record without a value');
  const c = JSON.parse(value.toString()) as ConflictRecord;
  if (typeof c !== 'object' || c === null || c.format !== CONFLICT_FORMAT || typeof c.key !== 'string' || !c.local || !c.peerWrite) {
    throw new Error(`not a conflict record of format ${CONFLICT_FORMAT}`);
  }
  return c;
}
