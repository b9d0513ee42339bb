import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { EVENT_FLAGS, type ChangeEvent } from '../../../services/shared/change-event';
import { decodeChangeRecord } from '../../../services/shared/change-record';
import { createLogger } from '../../../services/shared/logger';
import type { ApplyItem } from '../../../services/sink/apply/apply-item';
import { EXPIRE_IF_DUE } from '../../../services/sink/apply/expiry';
import { sinkSectionSchema, type SinkSection } from '../../../services/sink/config';
import { sinkMetrics } from '../../../services/sink/metrics';
import { judge, STAGE_ENTRIES, type StageContext } from '../../../services/sink/stages';

/**
 * The sink's stages on real events: the format-v1 records the v1 source
 * wrote to Kafka (test/fixtures/records/v1-records.json, origin a), judged
 * by the sink of b reading tandem.a.changes. Where a stage needs an event
 * kind the fixture lacks (expiry, eviction, a client's reserved-key write),
 * a real event is given that kind or flag and nothing else.
 */
const records = JSON.parse(readFileSync(join(__dirname, '../../fixtures/records/v1-records.json'), 'utf8')) as { partition: number; offset: string; value: string }[];
const events = records.map((r) => ({ r, e: decodeChangeRecord(Buffer.from(r.value, 'base64'))[0] }));
const find = (kind: string, command: string) => {
  const found = events.find(({ e }) => e.kind === kind && e.commands[0][0].toString() === command);
  if (found === undefined) throw new Error(`no ${kind} ${command} in the fixture`);
  return found;
};

function itemOf(found: { r: { partition: number; offset: string; value: string }; e: ChangeEvent }, change: Partial<ChangeEvent> = {}): ApplyItem {
  const event = { ...found.e, ...change };
  return {
    record: { topic: 'tandem.a.changes', partition: found.r.partition, offset: found.r.offset, key: null, value: Buffer.from(found.r.value, 'base64') },
    offset: BigInt(found.r.offset),
    index: 0,
    event,
    commands: event.commands,
  };
}

function context(sink: Partial<SinkSection> = {}, localDc = 'b'): StageContext {
  return {
    partition: 0,
    filter: { localDc, topicDc: 'a' },
    sink: { ...sinkSectionSchema.parse({ peers: ['a'] }), ...sink },
    assembler: undefined,
    metrics: sinkMetrics(new Registry()),
    log: createLogger('sink', { level: 'silent' }),
  };
}

describe('sink stages on real events', () => {
  test('a command and a transaction of the peer pass every stage: applied as they are', () => {
    expect(judge(itemOf(find('command', 'SET')), context())).toBeUndefined();
    expect(judge(itemOf(find('transaction', 'SET')), context())).toBeUndefined();
  });

  test('the origin rule: the same events read by the sink of their own DC are dropped as own-origin', () => {
    expect(judge(itemOf(find('command', 'SET')), context({}, 'a'))).toEqual({ drop: 'own-origin' });
  });

  test('a keyless command is a barrier', () => {
    expect(judge(itemOf(find('control', 'FUNCTION')), context())).toEqual({ keyless: true });
  });

  test('snapshot policy: apply keeps the RESTORE, skip drops it, if-absent strips REPLACE and tolerates BUSYKEY', () => {
    const snap = itemOf(find('snapshot', 'RESTORE'));
    expect(judge(snap, context())).toEqual({ apply: snap });
    expect(judge(snap, context({ snapshotPolicy: 'skip' }))).toEqual({ drop: 'snapshot-skip' });
    const v = judge(snap, context({ snapshotPolicy: 'if-absent' }));
    expect(v !== undefined && 'apply' in v && v.apply.tolerateBusyKey).toBe(true);
    if (v === undefined || !('apply' in v)) return;
    expect(v.apply.commands[0].map((a) => a.toString('latin1').toUpperCase())).not.toContain('REPLACE');
    expect(v.apply.commands[0]).toHaveLength(snap.commands[0].length - 1);
  });

  test("a client's write of a reserved key goes to the DLQ, counted as dropped too", () => {
    const set = find('command', 'SET');
    expect(judge(itemOf(set, { flags: [EVENT_FLAGS.reservedKey] }), context())).toMatchObject({ dlq: 'reserved-key', dropped: 'reserved-key' });
  });

  test('a keyed event without a slot goes to the DLQ', () => {
    expect(judge(itemOf(find('command', 'INCR'), { slot: -1 }), context())).toMatchObject({ dlq: 'invalid-event' });
  });

  test("server deletions: an eviction is dropped unless applyEvictions; an expiry becomes a delete if the key is due here", () => {
    const del = find('command', 'DEL');
    expect(judge(itemOf(del, { kind: 'eviction' }), context())).toEqual({ drop: 'eviction' });
    expect(judge(itemOf(del, { kind: 'eviction' }), context({ applyEvictions: true }))).toBeUndefined();
    const v = judge(itemOf(del, { kind: 'expiry' }), context({ expirySkewMs: 250 }));
    expect(v !== undefined && 'apply' in v).toBe(true);
    if (v === undefined || !('apply' in v)) return;
    const [argv] = v.apply.commands;
    expect(argv.map((a) => a.toString())).toEqual(['EVAL', EXPIRE_IF_DUE, '1', '{cmd}:k', String(del.e.capturedAt + 250)]);
    expect(v.apply.conditional).toBe(true);
    // An expiry that is no one-key DEL is malformed.
    expect(judge(itemOf(find('command', 'RPUSH'), { kind: 'expiry' }), context())).toMatchObject({ dlq: 'invalid-event' });
  });
});

describe('the stage folder', () => {
  test('every stage file is loaded, and they run in their documented order', () => {
    expect(STAGE_ENTRIES.map((e) => e.name)).toEqual(['origin-filter', 'reserved-keys', 'keyless', 'slot-check', 'snapshots', 'server-deletions']);
  });
});
