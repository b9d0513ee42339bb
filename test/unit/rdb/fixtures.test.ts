import { decodePayload } from '../../../services/rdb/decode';
import { toInspectValue } from '../../../services/rdb/inspect-value';
import { loadFixture, MODES, parseAll, SERVERS } from './fixture-helpers';

describe.each(SERVERS.flatMap((server) => MODES.map((mode) => [server, mode])))('RDB fixture %s %s', (server, mode) => {
  const { rdb, expected } = loadFixture(server, mode);
  const { events, keys } = parseAll(rdb);
  const byName = new Map(keys.map((k) => [`${k.db}/${k.key.toString('latin1')}`, k]));

  it('finds exactly the keys the server had, in every db', () => {
    const want = Object.entries(expected.dbs).flatMap(([db, ks]) => Object.keys(ks).map((k) => `${db}/${Buffer.from(k).toString('latin1')}`));
    expect([...byName.keys()].sort()).toEqual(want.sort());
    expect(keys.length).toBe(want.length);
  });

  it('reads the header version and verifies the file checksum', () => {
    expect(events[0]).toEqual({ kind: 'header', version: expected.rdbVersion });
    const end = events[events.length - 1];
    expect(end.kind).toBe('end');
    if (end.kind === 'end') {
      expect(end.bytes).toBe(rdb.length);
      expect(end.checksum).not.toBeNull();
    }
  });

  it('cuts every key payload byte-identical to DUMP', () => {
    for (const [db, ks] of Object.entries(expected.dbs)) {
      for (const [name, want] of Object.entries(ks)) {
        const got = byName.get(`${db}/${Buffer.from(name).toString('latin1')}`);
        expect({ name, dump: got?.payload.toString('base64') }).toEqual({ name, dump: want.dump });
      }
    }
  });

  it('reports type and absolute expiry (PEXPIRETIME) per key', () => {
    for (const [db, ks] of Object.entries(expected.dbs)) {
      for (const [name, want] of Object.entries(ks)) {
        const got = byName.get(`${db}/${Buffer.from(name).toString('latin1')}`);
        expect({ name, type: got?.type, expireAt: got?.expireAt }).toEqual({ name, type: want.type, expireAt: want.pexpiretime });
      }
    }
  });

  it('decodes every value to what the server returned', () => {
    for (const [db, ks] of Object.entries(expected.dbs)) {
      for (const [name, want] of Object.entries(ks)) {
        const got = byName.get(`${db}/${Buffer.from(name).toString('latin1')}`);
        if (!got) throw new Error(`missing ${name}`);
        const decoded = decodePayload(got.payload);
        expect(decoded.rdbVersion).toBe(expected.rdbVersion);
        expect({ name, value: toInspectValue(decoded.value, decoded.rdbVersion, decoded.rdbType) }).toEqual({ name, value: want.value });
      }
    }
  });

  it('finds the function libraries', () => {
    const codes = events.flatMap((e) => (e.kind === 'function' ? [e.code.toString('utf8')] : []));
    const want = expected.functions.map((lib) => lib[lib.indexOf('library_code') + 1]);
    expect(codes).toEqual(want);
  });

  it('gives the same events whatever the chunking (streaming is transparent)', () => {
    for (const chunkSize of [1, 7, 4096]) {
      const again = parseAll(rdb, chunkSize === 1 && rdb.length > 100_000 ? 3 : chunkSize);
      expect(again.keys.map((k) => k.payload.toString('base64'))).toEqual(keys.map((k) => k.payload.toString('base64')));
    }
  });

  it('streams keys above the inline bound as key-begin/key-chunk/key-end with the same payload', () => {
    const small = parseAll(rdb, 1000, { maxInlinePayloadBytes: 512 });
    expect(small.keys.map((k) => k.payload.toString('base64'))).toEqual(keys.map((k) => k.payload.toString('base64')));
    const begins = small.events.filter((e) => e.kind === 'key-begin').length;
    expect(begins).toBeGreaterThan(0);
    expect(small.events.filter((e) => e.kind === 'key-end').length).toBe(begins);
    for (const e of small.events) if (e.kind === 'key-chunk') expect(e.data.length).toBeLessThanOrEqual(1000 + 32); // one chunk plus a split header
  });

  if (mode === 'cluster' && server.startsWith('valkey')) {
    it('reads the slot-info AUX fields Valkey interleaves', () => {
      expect(events.some((e) => e.kind === 'aux' && e.key.toString() === 'slot-info')).toBe(true);
    });
  }
  if (mode === 'cluster' && server === 'redis-7.4.1') {
    it('reads SLOT_INFO opcodes', () => {
      expect(events.some((e) => e.kind === 'slot-info')).toBe(true);
    });
  }
});
