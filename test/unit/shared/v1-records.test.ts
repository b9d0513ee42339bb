import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeChangeRecord, readRecordHeaders } from '../../../services/shared/change-record';
import { filterRecord } from '../../../services/sink/filter';

/**
 * Real format-v1 records, as the v1 source (commit f6a0abb) wrote them to
 * Kafka (test/fixtures/records/README.md), read by today's record decoder:
 * each is a record of one event, at index 0, equal to what avsc read from the
 * v1 schema at capture time.
 */
interface FixtureRecord {
  partition: number;
  offset: string;
  value: string;
  headers: Record<string, string>;
  summary: { kind: string; origin: string; source: string; slot: number; argv: string[][]; replOffset: number; seq: number; flags: string[] };
}

const records = JSON.parse(readFileSync(join(__dirname, '../../fixtures/records/v1-records.json'), 'utf8')) as FixtureRecord[];

describe('real v1 records stay readable', () => {
  test('the fixture has every kind the v1 source wrote without a sink', () => {
    expect(new Set(records.map((r) => r.summary.kind))).toEqual(new Set(['command', 'transaction', 'snapshot', 'control']));
  });

  test.each(records.map((r) => [`partition ${r.partition} offset ${r.offset} (${r.summary.kind} ${r.summary.argv[0]?.[0]})`, r] as const))('%s decodes to its one event', (_, r) => {
    const events = decodeChangeRecord(Buffer.from(r.value, 'base64'));
    expect(events).toHaveLength(1);
    const [e] = events;
    expect({ kind: e.kind, origin: e.origin, source: e.source, slot: e.slot, replOffset: e.replOffset, seq: e.seq, flags: e.flags }).toEqual({
      kind: r.summary.kind, origin: r.summary.origin, source: r.summary.source, slot: r.summary.slot, replOffset: r.summary.replOffset, seq: r.summary.seq, flags: r.summary.flags,
    });
    expect(e.commands.map((argv) => argv.map((a) => a.toString('latin1')))).toEqual(r.summary.argv);
  });

  test('their headers read as a one-event summary, and the origin rule applies to them', () => {
    for (const r of records) {
      const h = readRecordHeaders(r.headers);
      expect(h).toMatchObject({ formatVersion: 1, count: 1, origins: [r.summary.origin], kinds: [r.summary.kind] });
      expect(filterRecord(h, { localDc: 'b', topicDc: 'a' })).toEqual({ action: 'decode' });
      expect(filterRecord(h, { localDc: 'a', topicDc: 'b' })).toEqual({ action: 'drop', reason: 'own-origin' });
    }
  });
});
