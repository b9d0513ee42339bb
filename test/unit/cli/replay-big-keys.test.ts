import type { ChangeEvent } from '../../../services/shared/change-event';
import { changeRecordHeaders, encodeChangeRecord } from '../../../services/shared/change-record';
import { keySlot } from '../../../services/shared/slot';
import { builtinKeys } from '../../../services/cli/audit/command-keys';
import { ReplaySelector } from '../../../services/cli/replay/select';

/**
 * `tandem replay` rebuilds a big key from its chunk sequence as the sink
 * does: chunks of one RDB transfer only. A sequence a broken full sync left
 * unfinished is skipped (`abandoned-chunks`), never joined to the retry's.
 */
const b = (s: string) => Buffer.from(s);
const KEY = 'big:{9}';

function event(partial: Partial<ChangeEvent>): ChangeEvent {
  return {
    origin: 'a', source: 'a', kind: 'snapshot', slot: keySlot(KEY), db: 0, commands: [], replId: 'r'.repeat(40), replOffset: 7,
    nodeId: 'node-1', capturedAt: 1_700_000_000_000, seq: 0, flags: [], dedupeKey: null, ...partial,
  };
}
const chunk = (transfer: string | undefined, i: number, bytes: string) =>
  event({ flags: ['payload-chunk', ...(transfer ? [`rdb-transfer:${transfer}`, `chunk:${i}`] : [])], commands: [[b(KEY), b(bytes)]] });
const last = (transfer: string | undefined, n: number) =>
  event({ flags: ['payload-last', ...(transfer ? [`rdb-transfer:${transfer}`, `chunk:${n}`] : [])], commands: [[b('RESTORE'), b(KEY), b('0'), Buffer.alloc(0), b('REPLACE')]] });

/** One record per event, real bytes, as the source frames chunks. */
function replay(events: ChangeEvent[]): { payloads: string[]; skipped: Map<string, number> } {
  const s = new ReplaySelector({ origin: 'a', snapshots: true, keysOf: builtinKeys, maxRestoreBytes: 1 << 20 });
  const payloads = events
    .flatMap((e, i) => s.select(0, { key: null, value: encodeChangeRecord([e]), timestamp: '0', attributes: 0, offset: String(i), headers: changeRecordHeaders([e]) }))
    .filter((item) => item.event.kind === 'snapshot')
    .map((item) => item.commands[0][3].toString());
  return { payloads, skipped: s.skipped };
}

describe('replay: big keys across a broken full sync', () => {
  test('the retry\'s chunks alone make the RESTORE; the orphan is counted as abandoned-chunks', () => {
    const r = replay([chunk('t1', 0, 'AB'), chunk('t1', 1, 'CD'), chunk('t2', 0, 'ab'), chunk('t2', 1, 'cd'), chunk('t2', 2, 'ef'), last('t2', 3)]);
    expect(r.payloads).toEqual(['abcdef']);
    expect(r.skipped.get('abandoned-chunks')).toBe(2);
  });

  test('a retried RDB without the key: the node\'s next event ends the orphan, nothing is applied from it', () => {
    const r = replay([chunk('t1', 0, 'AB'), event({ kind: 'command', commands: [[b('SET'), b('other:{9}'), b('v')]] }), last('t1', 1)]);
    expect(r.payloads).toEqual([]);
    expect(r.skipped.get('abandoned-chunks')).toBe(1);
    expect(r.skipped.get('incomplete-snapshot')).toBe(1);
  });

  test('a range starting inside a sequence cannot rebuild it: incomplete, not a partial RESTORE', () => {
    const r = replay([chunk('t1', 1, 'CD'), last('t1', 2)]);
    expect(r.payloads).toEqual([]);
    expect(r.skipped.get('incomplete-snapshot')).toBe(1);
  });

  test('events of older sources, without transfer or index, are joined per key as before', () => {
    expect(replay([chunk(undefined, 0, 'ab'), chunk(undefined, 0, 'cd'), last(undefined, 0)]).payloads).toEqual(['abcd']);
  });
});
