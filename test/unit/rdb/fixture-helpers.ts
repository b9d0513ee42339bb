import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RdbEvent, RdbKeyHeader } from '../../../services/rdb/events';
import { RdbParser, type RdbParserOptions } from '../../../services/rdb/parser';

export const FIXTURE_DIR = join(__dirname, '../../fixtures/rdb');
export const SERVERS = ['redis-7.0.15', 'redis-7.2.6', 'redis-7.4.1', 'valkey-8.0.1'];
export const MODES = ['standalone', 'cluster'];

export interface ExpectedKey {
  type: string;
  encoding: string;
  pexpiretime: number;
  value: unknown;
  dump: string;
}

export interface Expected {
  rdbVersion: number;
  server: { label: string; version: string; cluster: boolean };
  functions: unknown[][];
  dbs: Record<string, Record<string, ExpectedKey>>;
}

export function loadFixture(server: string, mode: string): { rdb: Buffer; expected: Expected } {
  return {
    rdb: readFileSync(join(FIXTURE_DIR, server, `${mode}.rdb`)),
    expected: JSON.parse(readFileSync(join(FIXTURE_DIR, server, `${mode}.expected.json`), 'utf8')) as Expected,
  };
}

export interface ParsedKey extends RdbKeyHeader {
  payload: Buffer;
}

/** Feeds `rdb` to a parser in chunks of `chunkSize` and collects every event, joining chunked keys. */
export function parseAll(rdb: Buffer, chunkSize = rdb.length, opts: RdbParserOptions = {}): { events: RdbEvent[]; keys: ParsedKey[] } {
  const parser = new RdbParser(opts);
  const events: RdbEvent[] = [];
  const keys: ParsedKey[] = [];
  let chunks: Buffer[] = [];
  const drain = (): void => {
    for (let ev = parser.next(); ev !== undefined; ev = parser.next()) {
      events.push(ev);
      if (ev.kind === 'key') keys.push({ ...ev, payload: ev.payload });
      else if (ev.kind === 'key-begin') chunks = [];
      else if (ev.kind === 'key-chunk') chunks.push(ev.data);
      else if (ev.kind === 'key-end') keys.push({ ...ev, payload: Buffer.concat(chunks) });
    }
  };
  for (let i = 0; i < rdb.length; i += chunkSize) {
    parser.push(rdb.subarray(i, Math.min(rdb.length, i + chunkSize)));
    drain();
  }
  parser.end();
  drain();
  if (!parser.done) throw new Error('parser did not finish');
  return { events, keys };
}
