import { decodeChangeEvent, encodeChangeEvent, type ChangeEvent } from '../../../../services/shared/change-event';
import { decodeChangeRecord, encodeChangeRecord } from '../../../../services/shared/change-record';
import { SlotVectors, type VectorPrime } from '../../../../services/source/commands/slot-vectors';
import { markerKey } from '../../../../services/shared/marker';
import { keySlot } from '../../../../services/shared/slot';
import { CommandTable } from '../../../../services/commands/command-table';
import { EventBuilder, type BuilderWarning, type EventBuilderOptions } from '../../../../services/source/commands/event-builder';
import { itemFromRdbFunction, itemFromRdbKey } from '../../../../services/source/commands/link-items';
import type { StreamItem } from '../../../../services/source/commands/stream-items';
import { CommandStream } from '../../../../services/source/replication/command-stream';
import type { ReplicationEvent } from '../../../../services/source/replication/types';
import { CommandParser } from '../../../../services/source/resp/command-parser';
import { encodeCommand } from '../../../../services/shared/resp';
import { argvOf, loadCommandFixture } from '../../commands/command-fixture';

const table = CommandTable.fromCommandReply(loadCommandFixture().command);
const link = { nodeId: 'node-1', replId: 'replid-1' };
const NOW = 1_732_540_000_000;

function setup(opts: Partial<EventBuilderOptions> = {}): { builder: EventBuilder; warnings: BuilderWarning[] } {
  const warnings: BuilderWarning[] = [];
  const builder = new EventBuilder({ localDc: 'b', commands: table, now: () => NOW, onWarning: (w) => warnings.push(w), ...opts });
  return { builder, warnings };
}

/**
 * The link's items for these commands, made as the link makes them: their
 * RESP through the CommandParser and the CommandStream (MULTI … EXEC around
 * them when `transaction`), the last one's checkpoint moved to `offset`.
 */
function streamEvents(offset: number, commands: string[][], transaction: boolean): ReplicationEvent[] {
  const frame = (argv: string[]) => encodeCommand(argvOf(...argv));
  const bytes = Buffer.concat([...(transaction ? [frame(['MULTI'])] : []), ...commands.map(frame), ...(transaction ? [frame(['EXEC'])] : [])]);
  const stream = new CommandStream(link.replId);
  const events = new CommandParser(0).feed(bytes).flatMap((c) => {
    const step = stream.accept(c);
    return step === null || step.type === 'control' ? [] : [step];
  });
  return events.map((e, i) => (i < events.length - 1 ? e : { ...e, checkpoint: { ...e.checkpoint, offset } }));
}
function streamItem(offset: number, commands: string[][], transaction: boolean): StreamItem {
  const [event, ...more] = streamEvents(offset, commands, transaction);
  if (event === undefined || more.length > 0) throw new Error(`the stream made ${more.length + (event ? 1 : 0)} events of ${JSON.stringify(commands)}`);
  return event;
}
const cmd = (...argv: string[]): StreamItem => streamItem(100, [argv], false);
const tx = (...commands: string[][]): StreamItem => streamItem(200, commands, true);
const text = (e: ChangeEvent): string[][] => e.commands.map((argv) => argv.map(String));

describe('keyed commands', () => {
  it('one command → one command event in the slot of its key, origin = local DC', () => {
    const { builder } = setup();
    const [e, ...rest] = builder.build(cmd('SET', 'user:1', 'v'), link);
    expect(rest).toEqual([]);
    expect(e).toEqual({
      origin: 'b', source: 'b', kind: 'command', slot: keySlot('user:1'), db: 0, commands: [argvOf('SET', 'user:1', 'v')],
      replId: 'replid-1', replOffset: 100, nodeId: 'node-1', capturedAt: NOW, seq: 0, flags: [], dedupeKey: null, stamp: null,
    });
  });

  it('multi-key commands in one slot (hash tags, movable keys)', () => {
    const { builder } = setup();
    const slot = keySlot('{t}');
    for (const argv of [
      ['MSET', '{t}a', '1', '{t}b', '2'],
      ['DEL', '{t}a', '{t}b', '{t}c'],
      ['ZUNIONSTORE', '{t}d', '2', '{t}z1', '{t}z2'],
      ['SORT', '{t}l', 'BY', 'nosort', 'STORE', '{t}dst'],
      ['LMOVE', '{t}a', '{t}b', 'LEFT', 'RIGHT'],
    ]) {
      expect(builder.build(cmd(...argv), link).map((e) => e.slot)).toEqual([slot]);
    }
  });

  it('refuses a command whose keys span slots, saying why', () => {
    const { builder } = setup();
    expect(() => builder.build(cmd('MSET', 'a', '1', 'b', '2'), link)).toThrow(
      expect.objectContaining({ code: 'EVENT_ENCODE', message: expect.stringMatching(/mset touches keys in slots \d+ and \d+.*CROSSSLOT/) }),
    );
  });
});

describe('MULTI … EXEC', () => {
  it('groups a transaction into one event', () => {
    const { builder } = setup();
    const events = builder.build(tx(['SET', '{u}a', '1'], ['INCR', '{u}b']), link);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'transaction', origin: 'b', slot: keySlot('u'), replOffset: 200, seq: 0 });
    expect(text(events[0])).toEqual([['SET', '{u}a', '1'], ['INCR', '{u}b']]);
  });

  it('splits a transaction spanning slots into one event per slot, flagged and counted', () => {
    const { builder, warnings } = setup();
    const events = builder.build(tx(['SET', '{x}1', 'a'], ['SET', '{y}1', 'b'], ['SET', '{x}2', 'c']), link);
    expect(events.map((e) => [e.kind, e.slot, e.seq, e.flags])).toEqual([
      ['transaction', keySlot('x'), 0, ['cross-slot-split']],
      ['command', keySlot('y'), 1, ['cross-slot-split']],
    ]);
    expect(text(events[0])).toEqual([['SET', '{x}1', 'a'], ['SET', '{x}2', 'c']]);
    expect(builder.counters.crossSlotSplits).toBe(1);
    expect(warnings.map((w) => w.code)).toEqual(['cross-slot-transaction']);
  });

  it('honours a SELECT inside the transaction', () => {
    const { builder } = setup();
    const events = builder.build(tx(['SELECT', '3'], ['SET', 'k', '1']), link);
    expect(events.map((e) => [e.db, e.kind])).toEqual([[3, 'command']]);
  });
});

describe('origin tagging (anti-loop)', () => {
  const slot = keySlot('{u}');
  const marker = markerKey(slot, 'a');

  it('a transaction whose first write is a marker SET: marker event + the rest tagged with its origin', () => {
    const { builder } = setup();
    const events = builder.build(tx(['SET', marker, '3:1041'], ['SET', '{u}k', 'v'], ['INCR', '{u}n']), link);
    expect(events.map((e) => [e.kind, e.origin, e.source, e.slot, e.seq])).toEqual([
      ['marker', 'a', 'b', slot, 0],
      ['transaction', 'a', 'b', slot, 1],
    ]);
    expect(text(events[0])).toEqual([['SET', marker, '3:1041']]);
    expect(text(events[1])).toEqual([['SET', '{u}k', 'v'], ['INCR', '{u}n']]);
    expect(builder.counters.markers).toBe(1);
    expect(builder.counters.reservedKeyWrites).toBe(0);
  });

  it('the marker counts as first after a leading SELECT', () => {
    const { builder } = setup();
    const events = builder.build(tx(['SELECT', '0'], ['SET', marker, '0:1'], ['DEL', '{u}k']), link);
    expect(events.map((e) => [e.kind, e.origin])).toEqual([['marker', 'a'], ['command', 'a']]);
  });

  it('a marker that is not the first write tags nothing: local origin, flagged reserved-key', () => {
    const { builder, warnings } = setup();
    const events = builder.build(tx(['SET', '{u}k', 'v'], ['SET', marker, '3:1041']), link);
    expect(events.map((e) => [e.kind, e.origin, e.flags])).toEqual([['transaction', 'b', ['reserved-key']]]);
    expect(builder.counters.reservedKeyWrites).toBe(1);
    expect(warnings.map((w) => w.code)).toEqual(['reserved-key-write']);
  });

  it('a lone marker SET (the other commands changed nothing, so no MULTI) is a marker event', () => {
    const { builder } = setup();
    expect(builder.build(cmd('SET', marker, '1:9'), link).map((e) => [e.kind, e.origin, e.slot])).toEqual([['marker', 'a', slot]]);
  });

  it('any other write of a __tandem: key is emitted, flagged and counted', () => {
    const { builder, warnings } = setup();
    const events = builder.build(cmd('SET', '__tandem:whatever', 'x'), link);
    expect(events.map((e) => [e.kind, e.origin, e.flags])).toEqual([['command', 'b', ['reserved-key']]]);
    // SET with extra options is not the sink's marker shape either
    expect(builder.build(cmd('SET', marker, '1:1', 'PX', '10'), link)[0].flags).toEqual(['reserved-key']);
    expect(builder.counters.reservedKeyWrites).toBe(2);
    expect(warnings).toHaveLength(2);
  });
});

describe('keyless commands follow the policy table', () => {
  it('PING, REPLCONF and SELECT never become events (the stream keeps them out, inside MULTI too)', () => {
    for (const argv of [['PING'], ['REPLCONF', 'GETACK', '*'], ['SELECT', '1']]) expect(streamEvents(100, [argv], false)).toEqual([]);
    const [inside] = streamEvents(100, [['PING'], ['SET', 'k', '1'], ['SELECT', '1']], true);
    expect(inside.commands.map((c) => c.argv.map(String))).toEqual([['SET', 'k', '1']]);
  });

  it('FLUSHALL / FLUSHDB / SWAPDB: control events flagged audit-only, slot -1', () => {
    const { builder } = setup();
    for (const argv of [['FLUSHALL'], ['flushdb', 'ASYNC'], ['SWAPDB', '0', '1']]) {
      expect(builder.build(cmd(...argv), link).map((e) => [e.kind, e.slot, e.flags])).toEqual([['control', -1, ['audit-only']]]);
    }
    expect(builder.counters.auditOnly).toBe(3);
  });

  it('FUNCTION LOAD: control event with a dedupeKey that is equal across links', () => {
    const { builder } = setup();
    const code = "#!lua name=lib\nredis.register_function('f', function() return 1 end)";
    const [a] = builder.build(cmd('FUNCTION', 'LOAD', code), link);
    const [b] = builder.build(cmd('function', 'load', code), { nodeId: 'node-2', replId: 'other' });
    expect([a.kind, a.slot, a.flags]).toEqual(['control', -1, ['once-per-cluster']]);
    expect(a.dedupeKey).toMatch(/^[0-9a-f]{32}$/);
    expect(b.dedupeKey).toBe(a.dedupeKey);
    expect(builder.build(cmd('FUNCTION', 'DELETE', 'lib'), link)[0].dedupeKey).not.toBe(a.dedupeKey);
  });

  it('PUBLISH is dropped and counted by default, a control event when enabled', () => {
    const off = setup().builder;
    expect(off.build(cmd('PUBLISH', 'ch', 'm'), link)).toEqual([]);
    expect(off.counters.publishDropped).toBe(1);
    const on = setup({ publish: true }).builder;
    expect(on.build(cmd('PUBLISH', 'ch', 'm'), link).map((e) => [e.kind, e.slot, e.flags])).toEqual([['control', -1, ['publish']]]);
    expect(on.build(cmd('SPUBLISH', 'ch', 'm'), link).map((e) => [e.kind, e.slot])).toEqual([['control', keySlot('ch')]]);
  });

  it('a keyless command without a row is a control event, counted and warned', () => {
    const { builder, warnings } = setup();
    expect(builder.build(cmd('FLUSHALL'), link)).toHaveLength(1);
    expect(builder.build(cmd('SCRIPT', 'KILL'), link).map((e) => [e.kind, e.slot, e.flags])).toEqual([['control', -1, []]]);
    expect(builder.counters.keylessOther).toBe(1);
    expect(warnings.map((w) => w.code)).toEqual(['keyless-command']);
  });

  it('an unknown command is a control event flagged unknown-command', () => {
    const { builder, warnings } = setup();
    expect(builder.build(cmd('MYMODULE.SET', 'k', 'v'), link).map((e) => [e.kind, e.flags])).toEqual([['control', ['unknown-command']]]);
    expect(builder.counters.unknownCommands).toBe(1);
    expect(warnings[0].command).toBe('mymodule.set');
  });

  it('keyless commands inside a transaction become their own events, in order', () => {
    const { builder } = setup();
    const events = builder.build(tx(['SET', 'k', '1'], ['FLUSHALL'], ['PING'], ['SET', 'k', '2']), link);
    expect(events.map((e) => [e.kind, e.seq, e.commands.length])).toEqual([['transaction', 0, 2], ['control', 1, 1]]);
  });
});

describe('snapshot events', () => {
  const payload = Buffer.from([0x00, 0x01, 0x61, 0x0a, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x11, 0x22]);
  const snap = (over: Record<string, unknown> = {}): StreamItem =>
    ({ type: 'snapshot', db: 0, key: Buffer.from('user:1'), payload, expireAt: 0, offset: 5000, ...over }) as StreamItem;

  it('carry RESTORE key ttl payload REPLACE ABSTTL', () => {
    const [e] = setup().builder.build(snap(), link);
    expect([e.kind, e.origin, e.slot, e.replOffset]).toEqual(['snapshot', 'b', keySlot('user:1'), 5000]);
    expect(e.commands[0].map(String).filter((_, i) => i !== 3)).toEqual(['RESTORE', 'user:1', '0', 'REPLACE', 'ABSTTL']);
    expect(e.commands[0][3]).toBe(payload);
  });

  it('add the absolute expiry and IDLETIME or FREQ', () => {
    const { builder } = setup();
    const tail = (over: Record<string, unknown>): string[] => builder.build(snap(over), link)[0].commands[0].slice(4).map(String);
    expect(builder.build(snap({ expireAt: 1_800_000_000_000 }), link)[0].commands[0][2].toString()).toBe('1800000000000');
    expect(tail({ idleSeconds: 42 })).toEqual(['REPLACE', 'ABSTTL', 'IDLETIME', '42']);
    expect(tail({ freq: 7 })).toEqual(['REPLACE', 'ABSTTL', 'FREQ', '7']);
    expect(() => builder.build(snap({ idleSeconds: 1, freq: 1 }), link)).toThrow(expect.objectContaining({ code: 'RDB_CORRUPT' }));
  });

  it('turn an RDB marker key into a marker event of its origin', () => {
    const key = markerKey(77, 'a');
    const [e] = setup().builder.build(snap({ key: Buffer.from(key) }), link);
    expect([e.kind, e.origin, e.slot]).toEqual(['marker', 'a', 77]);
  });
});

describe('built events survive the wire', () => {
  it('encode and decode unchanged (v1 events, which have no stamp, and the current record format)', () => {
    const { builder } = setup();
    const events = builder.build(tx(['SET', markerKey(keySlot('{u}'), 'a'), '1:1'], ['SET', '{u}k', Buffer.from([0, 255]).toString('latin1')]), link);
    for (const { stamp: _s, ...e } of events) expect({ ...decodeChangeEvent(encodeChangeEvent(e)) }).toEqual(e);
    expect(decodeChangeRecord(encodeChangeRecord(events))).toEqual(events);
  });
});

describe('items from the link and the RDB parser', () => {
  const checkpoint = { replid: 'r', offset: 900, db: 0 };

  it('a link transaction that changes db part way is one event per db', () => {
    const item: ReplicationEvent = {
      type: 'transaction', db: 0, checkpoint,
      commands: [{ argv: argvOf('SET', 'k', '1'), db: 0, offsetAfter: 10 }, { argv: argvOf('SET', 'k', '2'), db: 2, offsetAfter: 20 }],
    };
    const events = setup().builder.build(item, link);
    expect(events.map((e) => [e.db, e.replOffset, e.flags])).toEqual([[0, 900, ['cross-slot-split']], [2, 900, ['cross-slot-split']]]);
  });

  it('an RDB key without expiry restores with ttl 0, an RDB function is a once-per-cluster FUNCTION LOAD REPLACE', () => {
    const key = itemFromRdbKey(
      { kind: 'key', db: 0, key: Buffer.from('k'), type: 'string', rdbType: 0, expireAt: -1, offset: 9, payload: Buffer.from([0]), idle: 3 } as never,
      4000,
    );
    expect([key.expireAt, key.idleSeconds, key.offset]).toEqual([0, 3, 4000]);
    const [fn] = setup().builder.build(itemFromRdbFunction({ kind: 'function', code: Buffer.from('#!lua name=x\n') }, 4000), link);
    expect([fn.kind, fn.slot, fn.flags, text(fn)[0].slice(0, 3)]).toEqual(['control', -1, ['once-per-cluster'], ['FUNCTION', 'LOAD', 'REPLACE']]);
  });
});

describe('stamps: the slot\'s version vector on local events (docs/events.md "Stamps")', () => {
  const slot = keySlot('{u}');
  const other = keySlot('{v}');
  const item = (offset: number, ...commands: string[][]): StreamItem => streamItem(offset, commands, commands.length > 1);
  const prime = (offset: number, markers: [number, string, string][] = []): VectorPrime => {
    const m = new Map<number, Map<string, string>>();
    for (const [s, peer, v] of markers) m.set(s, (m.get(s) ?? new Map<string, string>()).set(peer, v));
    return { nodeId: 'node-1', offset, slots: [slot, other], peers: ['a', 'c'], markers: m };
  };
  function primedSetup(): { builder: EventBuilder; vectors: SlotVectors; asked: string[] } {
    const vectors = new SlotVectors();
    const asked: string[] = [];
    const { builder } = setup({ vectors, onPrimeNeeded: (n) => asked.push(n) });
    return { builder, vectors, asked };
  }

  it('is unknown (null) until a prime of the node lands, and the prime is asked for once; known: the peers with a marker', () => {
    const { builder, vectors, asked } = primedSetup();
    expect(builder.build(item(100, ['SET', '{u}k', '1']), link)[0].stamp).toBeNull();
    expect(builder.build(item(110, ['SET', '{u}k', '2']), link)[0].stamp).toBeNull();
    expect(asked).toEqual(['node-1']);
    vectors.primed(prime(150, [[slot, 'a', '3:40:2']]));
    // An item at or before the prime's offset may precede the markers read: still unknown.
    expect(builder.build(item(150, ['SET', '{u}k', '3']), link)[0].stamp).toBeNull();
    expect(builder.build(item(160, ['SET', '{u}k', '4']), link)[0].stamp).toEqual({ a: '3:40:2' });
    // Known and empty: nothing of any peer applied in that slot.
    expect(builder.build(item(170, ['SET', '{v}k', '4']), link)[0].stamp).toEqual({});
    expect(vectors.knownSlots).toBe(2);
  });

  it('follows the markers the stream shows; the max of stream and prime wins (markers only move forward)', () => {
    const { builder, vectors } = primedSetup();
    builder.build(item(100, ['SET', '{u}x', '1']), link);
    // Read in the stream before the prime's offset, older than what the prime read: the prime's value stands.
    builder.build(item(120, ['SET', markerKey(slot, 'a'), '3:39:0'], ['SET', '{u}a', '1']), link);
    // Newer than the prime: it stands.
    builder.build(item(130, ['SET', markerKey(slot, 'c'), '7:5:0'], ['SET', '{u}c', '1']), link);
    vectors.primed(prime(140, [[slot, 'a', '3:40:2'], [slot, 'c', '7:4:9']]));
    expect(builder.build(item(141, ['SET', '{u}k', '1']), link)[0].stamp).toEqual({ a: '3:40:2', c: '7:5:0' });
    const events = builder.build(item(150, ['SET', markerKey(slot, 'a'), '3:41:0'], ['INCR', '{u}n']), link);
    // A peer the prime did not ask about (its topic is newer) is learnt from the stream.
    builder.build(item(155, ['SET', markerKey(slot, 'd'), '0:9:1'], ['SET', '{u}d', '1']), link);
    expect(events.map((e) => [e.kind, e.origin, e.stamp])).toEqual([['marker', 'a', null], ['command', 'a', null]]);
    expect(builder.build(item(156, ['DEL', '{u}k']), link)[0].stamp).toEqual({ a: '3:41:0', c: '7:5:0', d: '0:9:1' });
  });

  it('a full resync forgets the node\'s slots until a new prime lands past its offset', () => {
    const { builder, vectors, asked } = primedSetup();
    builder.build(item(100, ['SET', '{u}x', '1']), link);
    vectors.primed(prime(100));
    expect(builder.build(item(101, ['SET', '{u}k', '1']), link)[0].stamp).toEqual({});
    builder.forgetVectors('node-1');
    expect(vectors.knownSlots).toBe(0);
    expect(builder.build(item(200, ['SET', '{u}k', '2']), link)[0].stamp).toBeNull();
    expect(asked).toEqual(['node-1', 'node-1']);
    vectors.primed(prime(210));
    expect(builder.build(item(211, ['SET', '{u}k', '3']), link)[0].stamp).toEqual({});
  });

  it('a failed prime is asked for again only after primeFailed', () => {
    const { builder, vectors, asked } = primedSetup();
    builder.build(item(100, ['SET', '{u}x', '1']), link);
    builder.build(item(101, ['SET', '{u}x', '1']), link);
    vectors.primeFailed('node-1');
    builder.build(item(102, ['SET', '{u}x', '1']), link);
    expect(asked).toEqual(['node-1', 'node-1']);
  });

  it('only local keyed writes carry a stamp: not control, snapshot or marker events, nor peers\' writes', () => {
    const { builder, vectors } = primedSetup();
    builder.build(item(100, ['SET', '{u}x', '1']), link);
    vectors.primed(prime(100));
    expect(builder.build(item(101, ['FLUSHALL']), link)[0].stamp).toBeNull();
    expect(builder.build({ type: 'snapshot', db: 0, key: Buffer.from('{u}s'), payload: Buffer.from('x'), expireAt: 0, offset: 5 }, link)[0].stamp).toBeNull();
    expect(builder.build(item(102, ['SET', '{u}k', '1'], ['INCR', '{u}n']), link)[0].stamp).toEqual({});
  });

  it('a legacy marker value without an index stamps as partition:offset (it covers its whole record)', () => {
    const v = new SlotVectors();
    v.onMarker(slot, 'a', '2:7');
    v.onMarker(slot, 'a', '2:7:3'); // inside the same record: not later than the whole record
    v.primed({ nodeId: 'n', offset: 0, slots: [slot], peers: [], markers: new Map() });
    v.advance('n', 1);
    expect(v.stamp(slot)).toEqual({ a: '2:7' });
  });
});
