import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePayload } from '../../../services/rdb/decode';
import { toInspectValue } from '../../../services/rdb/inspect-value';
import { redisTypeOf } from '../../../services/rdb';
import { TandemError } from '../../../services/shared/errors';
import { FIXTURE_DIR, parseAll, type Expected, type ExpectedKey } from './fixture-helpers';

/*
 * The old encodings (zipmap, ziplist, intset, zset/hash ziplist, quicklist v1,
 * RDB <= 9 payloads and files) against what a real Redis 7.0.15 made of them:
 * test/fixtures/rdb/captured/ (see its README for how it was captured). No
 * server is needed here: the server's answers are in the JSON.
 */

const DIR = join(FIXTURE_DIR, 'captured');

interface Captured {
  name: string;
  note: string;
  key: string;
  rdbType: number;
  rdbVersion: number;
  payload: string;
  restore?: string;
  error?: string;
  type?: string;
  encoding?: string;
  pttl?: number;
  pexpiretime?: number;
  value?: unknown;
  dump?: string;
}

interface RestoreCapture {
  server: { label: string; version: string };
  capturedAt: string;
  items: Captured[];
  edge: Captured[];
}

interface V9Expected extends Expected {
  capturedAt: string;
  serverLog: { producedBy: string; keysLoaded: number; keysExpired: number };
  dbs: Record<string, Record<string, ExpectedKey & { idletime: number }>>;
}

const restore = JSON.parse(readFileSync(join(DIR, 'old-encodings.restore.json'), 'utf8')) as RestoreCapture;
const v9 = JSON.parse(readFileSync(join(DIR, 'old-encodings-v9.expected.json'), 'utf8')) as V9Expected;
const v9Rdb = readFileSync(join(DIR, 'old-encodings-v9.rdb'));

function inspect(payload: Buffer | string): { rdbType: number; rdbVersion: number; type: string; value: unknown } {
  const d = decodePayload(typeof payload === 'string' ? Buffer.from(payload, 'base64') : payload);
  return { rdbType: d.rdbType, rdbVersion: d.rdbVersion, type: d.value.type, value: toInspectValue(d.value, d.rdbVersion, d.rdbType) };
}

describe('captures are from the server the README names', () => {
  it('redis 7.0.15, with every old type code in the RESTOREd payloads', () => {
    expect(restore.server.version).toBe('7.0.15');
    expect(v9.server.version).toBe('7.0.15');
    expect(new Set(restore.items.map((i) => i.rdbType))).toEqual(new Set([0, 1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14]));
    expect(restore.items.every((i) => i.restore === 'OK')).toBe(true);
  });
});

describe.each(restore.items.map((i) => [i.name, i] as const))('RESTOREd into redis 7.0.15: %s', (_name, item) => {
  it('decodes the old payload to the value the server read back', () => {
    const got = inspect(item.payload);
    expect({ rdbType: got.rdbType, rdbVersion: got.rdbVersion, type: got.type }).toEqual({
      rdbType: item.rdbType,
      rdbVersion: item.rdbVersion,
      type: item.type,
    });
    expect(redisTypeOf(item.rdbType)).toBe(item.type);
    expect(got.value).toEqual(item.value);
  });

  it("decodes the server's DUMP after load (the new encoding) to the same value", () => {
    const old = inspect(item.payload);
    const dumped = inspect(item.dump as string);
    expect(dumped.rdbVersion).toBe(10);
    expect(dumped.type).toBe(item.type);
    expect(dumped.value).toEqual(item.value);
    expect(dumped.value).toEqual(old.value);
  });
});

describe('what the server converted the old encodings to', () => {
  // Pinned so that a re-capture on another server shows up here, not only as value diffs.
  it('matches the capture (RDB type of the DUMP and OBJECT ENCODING)', () => {
    const got = Object.fromEntries(restore.items.map((i) => [i.name, `${i.rdbType} -> ${Buffer.from(i.dump as string, 'base64')[0]} ${i.encoding}`]));
    expect(got).toMatchObject({
      'zipmap-small': '9 -> 16 listpack',
      'zipmap-biglen': '9 -> 4 hashtable',
      'list-ziplist-every-encoding': '10 -> 18 quicklist',
      'intset-64': '11 -> 11 intset',
      'intset-600': '11 -> 2 hashtable',
      'zset-ziplist': '12 -> 17 listpack',
      'zset-ziplist-200': '12 -> 5 skiplist',
      'hash-ziplist': '13 -> 16 listpack',
      'quicklist-v1-lzf-nodes': '14 -> 18 quicklist',
      'zset-v7': '3 -> 17 listpack',
    });
  });
});

describe('odd payloads, against the server', () => {
  const edge = new Map(restore.edge.map((e) => [e.name, e]));

  it('accepted ones decode as the server read them back, except zset order', () => {
    const accepted = restore.edge.filter((e) => !e.error);
    expect(accepted.map((e) => e.name).sort()).toEqual(['intset-unsorted', 'zset-ziplist-nan', 'zset-ziplist-unsorted']);
    for (const e of accepted) {
      if (e.name === 'zset-ziplist-unsorted') continue;
      expect({ name: e.name, value: inspect(e.payload).value }).toEqual({ name: e.name, value: e.value });
      expect({ name: e.name, value: inspect(e.dump as string).value }).toEqual({ name: e.name, value: e.value });
    }
    // The server trusts a zset ziplist's order and replies in it; the decoder returns rank order.
    const unsorted = edge.get('zset-ziplist-unsorted') as Captured;
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    expect(unsorted.value).toEqual([
      [b64('b'), '2'],
      [b64('a'), '1'],
    ]);
    expect(inspect(unsorted.payload).value).toEqual([
      [b64('a'), '1'],
      [b64('b'), '2'],
    ]);
  });

  it('refused ones: the decoder refuses them too, or is known to be more lenient', () => {
    // The decoder reads what servers wrote; it does not re-run the server's integrity checks.
    const lenient: Record<string, string> = {
      'ziplist-zltail-0': 'zltail is not checked',
      'hash-ziplist-duplicate': 'duplicate fields are not checked',
      'quicklist-v1-all-empty': 'an empty list is not refused',
      'ziplist-empty': 'an empty list is not refused',
      'version-11': 'RDB 11 is supported (Redis 7.2)',
    };
    const refused = restore.edge.filter((e) => e.error);
    expect(refused.map((e) => e.name).sort()).toEqual(Object.keys(lenient).sort());
    for (const e of refused) {
      expect(e.error).toMatch(/^ERR (Bad data format|DUMP payload version or checksum are wrong)$/);
      let outcome: string;
      try {
        inspect(e.payload);
        outcome = 'decoded';
      } catch (err) {
        outcome = err instanceof TandemError ? err.code : String(err);
      }
      expect({ name: e.name, outcome: lenient[e.name] ? 'decoded' : 'RDB_CORRUPT' }).toEqual({ name: e.name, outcome });
    }
  });
});

describe('an RDB 9 file with old encodings, loaded by redis 7.0.15 at startup', () => {
  const { events, keys } = parseAll(v9Rdb);
  const byName = new Map(keys.map((k) => [`${k.db}/${k.key.toString('latin1')}`, k]));
  const want = Object.entries(v9.dbs).flatMap(([db, ks]) => Object.entries(ks).map(([name, k]) => ({ id: `${db}/${name}`, name, k })));

  it('the server loaded it as RDB 9 and every key it kept is in the file', () => {
    expect(events[0]).toEqual({ kind: 'header', version: 9 });
    const end = events[events.length - 1];
    expect(end.kind === 'end' && end.checksum !== null && end.bytes === v9Rdb.length).toBe(true);
    expect(v9.serverLog.keysLoaded).toBe(want.length);
    expect(keys.length).toBe(v9.serverLog.keysLoaded + v9.serverLog.keysExpired);
    for (const { id } of want) expect(byName.has(id)).toBe(true);
  });

  it('the keys the server dropped on load are the ones whose expiry the parser reads as past', () => {
    // EXPIRETIME (0xFD) is a signed 32-bit count of seconds, as rdbLoadTime reads it.
    const capturedAt = Date.parse(v9.capturedAt);
    const dropped = keys.filter((k) => !want.some((w) => w.id === `${k.db}/${k.key.toString('latin1')}`));
    expect(dropped).toHaveLength(v9.serverLog.keysExpired);
    for (const k of dropped) {
      expect(k.expireAt).toBeGreaterThanOrEqual(0 - 2 ** 31 * 1000);
      expect(k.expireAt).toBeLessThan(capturedAt);
    }
    expect(dropped.map((k) => [k.key.toString(), k.expireAt])).toEqual([['v9:db1:hash:zipmap', (4102444800 - 2 ** 32) * 1000]]);
  });

  it.each(want.map((w) => [w.id, w] as const))('%s: type, expiry, value and DUMP cross-check', (_id, { id, k }) => {
    const got = byName.get(id);
    if (!got) throw new Error(`parser did not find ${id}`);
    expect({ type: got.type, expireAt: got.expireAt }).toEqual({ type: k.type, expireAt: k.pexpiretime });
    const fromFile = inspect(got.payload);
    expect(fromFile.rdbVersion).toBe(9);
    expect(fromFile.value).toEqual(k.value);
    const fromDump = inspect(k.dump);
    expect(fromDump.rdbVersion).toBe(10);
    expect(fromDump.value).toEqual(k.value);
  });

  it('IDLE and FREQ: the parser reads what the file says; the server applied the idle time', () => {
    const meta = keys.filter((k) => k.idle !== undefined || k.freq !== undefined).map((k) => [k.key.toString(), k.idle, k.freq]);
    expect(meta).toEqual([
      ['v9:zset:ziplist', 42, undefined],
      ['v9:hash:ziplist', undefined, 9],
    ]);
    // OBJECT IDLETIME right after startup (LRU policy; FREQ only applies under an LFU policy).
    expect(v9.dbs['0']['v9:zset:ziplist'].idletime).toBeGreaterThanOrEqual(42);
    expect(v9.dbs['0']['v9:zset:ziplist'].idletime).toBeLessThan(60);
  });

  it('parses the same keys and payloads when fed one byte at a time', () => {
    const slow = parseAll(v9Rdb, 1).keys;
    expect(slow.map((k) => [k.db, k.key.toString('base64'), k.expireAt, k.payload.toString('base64')])).toEqual(
      keys.map((k) => [k.db, k.key.toString('base64'), k.expireAt, k.payload.toString('base64')]),
    );
  });
});
