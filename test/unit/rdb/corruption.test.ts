import { TandemError } from '../../../services/shared/errors';
import { decodePayload } from '../../../services/rdb/decode';
import { loadFixture, parseAll } from './fixture-helpers';

jest.setTimeout(60_000);

function parseError(rdb: Buffer, chunkSize = 4096): TandemError {
  try {
    parseAll(rdb, chunkSize);
  } catch (err) {
    if (err instanceof TandemError) return err;
    throw err;
  }
  throw new Error('parse succeeded');
}

describe('corrupt RDB input', () => {
  const { rdb } = loadFixture('redis-7.2.6', 'cluster');

  it('reports a flipped byte inside a value as a CRC64 mismatch', () => {
    const bad = Buffer.from(rdb);
    const at = rdb.indexOf('hello world');
    bad[at] ^= 0x20;
    const err = parseError(bad);
    expect(err.code).toBe('RDB_CORRUPT');
    expect(err.message).toMatch(/^RDB corrupt at byte \d+: CRC64 mismatch: file says 0x[0-9a-f]{16}, computed 0x[0-9a-f]{16}/);
  });

  it('reports a bad opcode with its offset and value', () => {
    const bad = Buffer.from(rdb);
    bad[9] = 0x1f; // first opcode after the header (an AUX), now an unknown type
    const err = parseError(bad);
    expect(err.code).toBe('RDB_CORRUPT');
    expect(err.message).toBe('RDB corrupt at byte 9: expected an opcode or a value type, got 0x1F');
  });

  it('rejects a wrong magic and an unsupported version', () => {
    expect(parseError(Buffer.from('RUBIS0011\xff', 'latin1')).message).toMatch(/byte 0: expected the magic "REDIS"/);
    const err = parseError(Buffer.from('REDIS0099\xff', 'latin1'));
    expect(err.code).toBe('RDB_UNSUPPORTED');
    expect(err.message).toMatch(/RDB version 99/);
  });

  it('fails every flipped byte with a typed error naming an offset, never a crash or hang', () => {
    // Deterministic sample of positions across the file, every chunk boundary style.
    for (let i = 0; i < 400; i++) {
      const pos = 9 + ((i * 7919) % (rdb.length - 9));
      const bad = Buffer.from(rdb);
      bad[pos] ^= 1 << i % 8;
      const err = parseError(bad, i % 2 ? 4096 : 333);
      expect(['RDB_CORRUPT', 'RDB_UNSUPPORTED']).toContain(err.code);
      expect(err.message).toMatch(/at byte \d+/);
    }
  });

  it('reports truncation at many cut points with the offset where input ended', () => {
    const cuts = [0, 5, 9, 10, 50, 200, 1000, 5000, 20_000, rdb.length >> 1, rdb.length - 9, rdb.length - 1];
    for (const cut of cuts) {
      const err = parseError(rdb.subarray(0, cut), 512);
      expect(err.code).toBe('RDB_CORRUPT');
      expect(err.message).toMatch(new RegExp(`^RDB truncated at byte ${cut} while reading .+`));
    }
  });

  it('does not allocate for a bogus huge key length', () => {
    // header, then a string key with a 64-bit length of 2^50.
    const bogus = Buffer.concat([Buffer.from('REDIS0011', 'latin1'), Buffer.from([0x00, 0x81, 0, 4, 0, 0, 0, 0, 0, 0])]);
    const err = parseError(bogus);
    expect(err.code).toBe('RDB_CORRUPT');
    expect(err.message).toMatch(/byte 10: a key name of \d+ bytes exceeds maxStringBytes/);
  });

  it('rejects module values without self-description and pre-GA functions clearly', () => {
    const mod = Buffer.concat([Buffer.from('REDIS0011', 'latin1'), Buffer.from([0x06, 0x01, 0x6b])]);
    expect(parseError(mod).message).toMatch(/RDB_TYPE_MODULE_PRE_GA \(6\)/);
    const fn = Buffer.concat([Buffer.from('REDIS0011', 'latin1'), Buffer.from([246])]);
    const err = parseError(fn);
    expect(err.code).toBe('RDB_UNSUPPORTED');
    expect(err.message).toMatch(/FUNCTION_PRE_GA/);
  });
});

describe('corrupt RESTORE payloads', () => {
  const { expected } = loadFixture('redis-7.4.1', 'standalone');
  const dump = Buffer.from(expected.dbs['0']['db0:hash:small'].dump, 'base64');

  it('checks the payload CRC64', () => {
    const bad = Buffer.from(dump);
    bad[3] ^= 0xff;
    expect(() => decodePayload(bad)).toThrow(/CRC64 mismatch/);
  });

  it('names the offset of a structural error inside a payload', () => {
    const bad = Buffer.from(dump.subarray(0, 5));
    expect(() => decodePayload(Buffer.concat([bad, Buffer.alloc(10)]), { verifyChecksum: false })).toThrow(/corrupt at byte|truncated at byte/);
  });
});
