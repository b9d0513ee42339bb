import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import type { KafkaMessage } from 'kafkajs';
import { encodeConflictRecord, textOf, type ConflictRecord, type ConflictWrite } from '../../../services/shared/conflict-record';
import { COMMAND_WIDTH, KEY_WIDTH, formatConflicts } from '../../../services/cli/conflicts/format';
import { ConflictSelector, UNTIL_SLACK_MS, byDetection, readWindow, type ListedConflict } from '../../../services/cli/conflicts/select';
import { parseTimeOrAgo } from '../../../services/cli/kafka-range';

const T0 = Date.parse('2024-05-01T12:00:00Z');

function write(origin: string, argv: (string | Buffer)[], at: number, extra: Partial<ConflictWrite> = {}): ConflictWrite {
  const { text, encoding } = textOf(argv.map((a) => (typeof a === 'string' ? Buffer.from(a) : a)));
  return {
    origin, source: origin, kind: 'command', topic: `tandem.${origin}.changes`, address: '3:100:0', capturedAt: at, class: 'overwrite',
    command: text, encoding, truncated: false, commands: 1, ...extra,
  };
}

function record(key: string | Buffer, detectedAt: number, o: { local?: ConflictWrite; peer?: ConflictWrite; field?: string } = {}): ConflictRecord {
  const k = textOf([typeof key === 'string' ? Buffer.from(key) : key]);
  return {
    format: 1, dc: 'b', peer: 'a', detectedAt, slot: 42, key: k.text[0], keyEncoding: k.encoding,
    field: o.field ?? null, fieldEncoding: o.field === undefined ? null : 'utf8',
    local: o.local ?? write('b', ['SET', key, 'from-b'], detectedAt - 900),
    peerWrite: { ...(o.peer ?? write('a', ['SET', key, 'from-a'], detectedAt - 950)), stamp: null },
  };
}

/** A record of the conflicts topic as a consumer receives it. */
function message(r: ConflictRecord, offset: number): KafkaMessage {
  const m = encodeConflictRecord(r, Buffer.from(r.key, r.keyEncoding));
  return { key: m.key as Buffer, value: Buffer.from(m.value as string), timestamp: String(r.detectedAt + 50), attributes: 0, offset: String(offset), headers: {} };
}

describe('conflicts: --since and --until', () => {
  test('a bare duration means that long ago; ISO and relative times as for audit', () => {
    expect(parseTimeOrAgo('1h', T0)).toBe(T0 - 3_600_000);
    expect(parseTimeOrAgo('30m', T0)).toBe(T0 - 1_800_000);
    expect(parseTimeOrAgo('-30m', T0)).toBe(T0 - 1_800_000);
    expect(parseTimeOrAgo('2024-05-01T11:00:00Z', T0)).toBe(T0 - 3_600_000);
    expect(parseTimeOrAgo('now', T0)).toBe(T0);
  });

  test('anything else is a usage error naming the value', () => {
    for (const bad of ['1', '1w', 'yesterday', '', '-']) expect(() => parseTimeOrAgo(bad, T0)).toThrow(InvalidArgumentError);
    expect(() => parseTimeOrAgo('1w', T0)).toThrow(/"1w"/);
  });

  test('the read starts at --since and runs past --until by the send slack (or to the end)', () => {
    expect(readWindow(T0, undefined)).toEqual({ from: { kind: 'time', ms: T0, text: '' }, to: undefined });
    expect(readWindow(T0, T0 + 1000).to).toEqual({ kind: 'time', ms: T0 + 1000 + UNTIL_SLACK_MS, text: '' });
  });
});

describe('conflicts: which records are listed', () => {
  test('detected in [since, until): the bounds are checked on detectedAt, not on the record timestamp', () => {
    const s = new ConflictSelector({ fromMs: T0, toMs: T0 + 1000 });
    const got = [T0 - 1, T0, T0 + 999, T0 + 1000].map((t, i) => s.select(0, message(record(`k${i}`, t), i))?.record.key);
    expect(got).toEqual([undefined, 'k1', 'k2', undefined]);
    expect(s.stats).toEqual({ records: 4, undecodable: 0 });
  });

  test('--key is a Redis glob on the key bytes, binary keys included', () => {
    const s = new ConflictSelector({ fromMs: 0, keyPattern: Buffer.from('user:[12]*') });
    expect(['user:1', 'user:10', 'user:3', 'xuser:1'].map((k) => s.select(0, message(record(k, T0), 0)) !== undefined)).toEqual([true, true, false, false]);
    const binary = Buffer.from([0xff, 0x00, 0x41]);
    const b = new ConflictSelector({ fromMs: 0, keyPattern: Buffer.from([0xff, 0x2a]) });
    expect(b.select(0, message(record(binary, T0), 0))?.record.keyEncoding).toBe('base64');
  });

  test('records that are not conflict records are counted with where they are, and skipped', () => {
    const s = new ConflictSelector({ fromMs: 0 });
    const bad: KafkaMessage = { ...message(record('k', T0), 7), value: Buffer.from('{"format":9}') };
    expect(s.select(2, bad)).toBeUndefined();
    expect(s.stats.undecodable).toBe(1);
    expect(s.stats.lastDecodeError).toMatch(/^partition 2 offset 7: not a conflict record of format 1/);
  });

  test('listed in detection order, then by position in the topic', () => {
    const l = (p: number, o: bigint, t: number): ListedConflict => ({ partition: p, offset: o, record: record('k', t) });
    const sorted = [l(0, 5n, T0 + 1), l(0, 9n, T0), l(1, 2n, T0), l(0, 3n, T0)].sort(byDetection);
    expect(sorted.map((c) => [c.partition, c.offset])).toEqual([[0, 3n], [0, 9n], [1, 2n], [0, 5n]]);
  });
});

describe('conflicts: the readable form', () => {
  test('two lines per conflict: this DC\'s write, then the peer\'s, with origins and capture times', () => {
    expect(formatConflicts([record('user:1', T0), record('user:{42}:profile', T0 + 5)])).toEqual([
      'DETECTED                  KEY                ORIGIN  CAPTURED                  COMMAND',
      '2024-05-01T12:00:00.000Z  user:1             b       2024-05-01T11:59:59.100Z  SET user:1 from-b',
      '                                             a       2024-05-01T11:59:59.050Z  SET user:1 from-a',
      '2024-05-01T12:00:00.005Z  user:{42}:profile  b       2024-05-01T11:59:59.105Z  SET user:{42}:profile from-b',
      '                                             a       2024-05-01T11:59:59.055Z  SET user:{42}:profile from-a',
    ]);
  });

  test('long keys and commands are cut with …; a value the sink cut ends with … too; fields and transactions are said', () => {
    const key = `k:${'x'.repeat(60)}`;
    const long = record(key, T0, {
      local: write('b', ['SET', key, 'v'.repeat(200)], T0),
      peer: write('a', ['HSET', 'k', 'f', 'short'], T0, { truncated: true, commands: 3 }),
      field: 'f',
    });
    const [, local, peer] = formatConflicts([long]);
    const keyColumn = local.slice(26, 26 + KEY_WIDTH);
    expect(keyColumn).toBe(`${key.slice(0, KEY_WIDTH - 1)}…`);
    expect(local.endsWith('…')).toBe(true);
    expect(Array.from(local.slice(local.indexOf('SET '))).length).toBe(COMMAND_WIDTH);
    expect(peer).toMatch(/ HSET k f short… {2}\(in a transaction of 3 commands\)$/);
    expect(formatConflicts([record('h', T0, { field: 'name' })])[1]).toContain('h (field name)');
  });

  test('values that are not printable text are shown as base64; values with spaces are quoted', () => {
    const r = record(Buffer.from([0xff, 0x01]), T0, { local: write('b', ['SET', Buffer.from([0xff, 0x01]), Buffer.from([0x00])], T0), peer: write('a', ['SET', 'k', 'two words'], T0) });
    const [, local, peer] = formatConflicts([r]);
    expect(local).toMatch(/^\S+ {2}b64:\/wE= +b +\S+ {2}SET b64:\/wE= b64:AA==$/);
    expect(peer).toMatch(/SET k "two words"$/);
  });
});

/** The built CLI: usage errors exit 2 with one line, no stack (npm test builds first). */
const CLI = join(__dirname, '../../../dist/services/bin/tandem.js');
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, TANDEM_KAFKA_BROKERS: '' } });

describe('conflicts: usage errors', () => {
  it.each([
    [['conflicts', '--brokers', 'h:1'], /required option '--dc <dc>'/],
    [['conflicts', '--dc', 'Bad_DC', '--brokers', 'h:1'], /a DC name is/],
    [['conflicts', '--dc', 'a', '--brokers', 'h:1', '--since', 'yesterday'], /expected a duration ago \(30m, 1h, 7d\).*got "yesterday"/],
    [['conflicts', '--dc', 'a', '--brokers', 'h:1', '--since', '1h', '--until', '2h'], /--until must be after --since/],
    [['conflicts', '--dc', 'a', '--brokers', 'h:1', '--key', ''], /--key must not be empty/],
    [['conflicts', '--dc', 'a'], /^tandem: give --brokers host:port/],
  ])('%j exits 2 with one clear line', (args, message) => {
    const r = run(...args);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
  });
});
