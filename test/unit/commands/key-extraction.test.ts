import { CommandTable } from '../../../services/commands/command-table';
import { argvOf, asBuffers, loadCommandFixture } from './command-fixture';

const fixture = loadCommandFixture();
const cases = fixture.getkeys.map((c) => ({
  ...c,
  label: c.argv.join(' ').slice(0, 80),
  // The server answers with an error when it finds no keys; we answer [].
  expected: c.keys ?? [],
}));

describe('key extraction matches COMMAND GETKEYS of Redis 7.0.15', () => {
  const table = CommandTable.fromCommandReply(fixture.command);

  it('parses the whole command table, subcommands included', () => {
    expect(table.size).toBe(240);
    expect(table.hasKeySpecs).toBe(true);
    expect(table.get('xgroup|create')?.arity).toBe(-5);
    expect(table.get('XGROUP|CREATE')).toBe(table.get('xgroup|create'));
    expect(table.lookup(argvOf('xgroup', 'CREATE', 's', 'g', '$'))?.name).toBe('xgroup|create');
  });

  it.each(cases)('$label', ({ argv, expected }) => {
    const keys = table.extractKeys(argvOf(...argv));
    expect(keys?.map((k) => k.toString())).toEqual(expected);
  });

  it('gives the same answers from a Buffer reply (ioredis callBuffer)', () => {
    const fromBuffers = CommandTable.fromCommandReply(asBuffers(fixture.command));
    for (const c of cases) {
      expect(fromBuffers.extractKeys(argvOf(...c.argv))?.map((k) => k.toString())).toEqual(c.expected);
    }
  });
});

describe('key extraction on raw bytes', () => {
  const table = CommandTable.fromCommandReply(fixture.command);

  it('returns the very argv Buffers, binary keys intact', () => {
    const key = Buffer.from([0x00, 0xff, 0x7b, 0x80, 0x7d, 0x0a]);
    const argv = argvOf('set', key, 'v');
    const keys = table.extractKeys(argv);
    expect(keys).toHaveLength(1);
    expect(keys?.[0]).toBe(argv[1]);
  });

  it('matches keywords and command names case-insensitively', () => {
    expect(table.extractKeys(argvOf('xReAd', 'streams', 'a', 'b', '0', '0'))?.map(String)).toEqual(['a', 'b']);
  });

  it('returns undefined for a command the server does not know', () => {
    expect(table.extractKeys(argvOf('no.such.command', 'k'))).toBeUndefined();
  });

  it('includes NOT_KEY arguments (SPUBLISH shard channel) only when asked', () => {
    const argv = argvOf('SPUBLISH', 'chan', 'msg');
    expect(table.extractKeys(argv)).toEqual([]);
    expect(table.extractKeys(argv, { includeNotKeys: true })?.map(String)).toEqual(['chan']);
  });

  it('offers a bound extractor per command', () => {
    expect(table.extractorFor('rename')?.(argvOf('RENAME', 'a', 'b')).map(String)).toEqual(['a', 'b']);
    expect(table.extractorFor('nope')).toBeUndefined();
  });
});

describe('key specs a module could declare', () => {
  // begin_search keyword with a negative startfrom, range with limit, and
  // keynum with keystep 2: shapes no 7.0 built-in uses together.
  const moduleReply = [
    ['mod.back', -2, ['write', 'module'], 0, 0, 0, [], [], [
      ['flags', ['RW'], 'begin_search', ['type', 'keyword', 'spec', ['keyword', 'KEYS', 'startfrom', -1]],
        'find_keys', ['type', 'range', 'spec', ['lastkey', -1, 'keystep', 1, 'limit', 0]]],
    ], []],
    ['mod.pairs', -3, ['write', 'module'], 0, 0, 0, [], [], [
      ['flags', ['RW'], 'begin_search', ['type', 'index', 'spec', ['index', 1]],
        'find_keys', ['type', 'keynum', 'spec', ['keynumidx', 0, 'firstkey', 1, 'keystep', 2]]],
    ], []],
    ['mod.half', -3, ['write', 'module'], 0, 0, 0, [], [], [
      ['flags', ['RW'], 'begin_search', ['type', 'index', 'spec', ['index', 1]],
        'find_keys', ['type', 'range', 'spec', ['lastkey', -1, 'keystep', 1, 'limit', 2]]],
    ], []],
  ];
  const table = CommandTable.fromCommandReply(moduleReply);
  const keys = (...argv: string[]): string[] | undefined => table.extractKeys(argvOf(...argv))?.map(String);

  it('searches a keyword backwards from the end', () => {
    // the last KEYS wins when searching backwards
    expect(keys('mod.back', 'KEYS', 'x', 'keys', 'a', 'b')).toEqual(['a', 'b']);
    expect(keys('mod.back', 'a', 'b')).toEqual([]);
  });

  it('steps over values with keynum keystep (numkeys keys, not Redis 7.0 quirk)', () => {
    expect(keys('mod.pairs', '2', 'k1', 'v1', 'k2', 'v2')).toEqual(['k1', 'k2']);
    expect(keys('mod.pairs', 'x', 'k1')).toEqual([]); // bad numkeys, no native proc: partial = none
  });

  it('takes the first half of the tail with range limit 2', () => {
    expect(keys('mod.half', 'a', 'b', 'c', '1', '2', '3')).toEqual(['a', 'b', 'c']);
  });
});

describe('legacy first/last/step (servers before 7.0 send no key specs)', () => {
  // Redis 6.2's reply has 7 fields per entry and no subcommands. Strip the
  // 7.0 capture down to that shape: movablekeys commands then need the native
  // procs, everything else the legacy range.
  const legacyReply = fixture.command.map((e) => (e as unknown[]).slice(0, 7));
  const table = CommandTable.fromCommandReply(legacyReply);
  // 7.0 made these container commands (6.2's entries carry their own legacy
  // range or movablekeys flag, a stripped 7.0 entry does not), and SPUBLISH
  // is new in 7.0: not comparable here.
  const containers = new Set(['object', 'xgroup', 'xinfo', 'memory', 'spublish']);

  it('reports that it has no key specs', () => {
    expect(table.hasKeySpecs).toBe(false);
  });

  it.each(cases.filter((c) => !containers.has(c.argv[0].toLowerCase())))('$label', ({ argv, expected }) => {
    // Native procs list source keys before the destination (ZUNIONSTORE), so
    // compare as multisets: the slot check only needs the set of keys.
    const keys = table.extractKeys(argvOf(...argv))?.map(String).sort();
    expect(keys).toEqual([...expected].sort());
  });
});
