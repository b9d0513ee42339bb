import { PassThrough } from 'node:stream';
import { join } from 'node:path';
import { Command } from 'commander';
import { inspectRdb } from '../../../services/rdb/inspect';
import { registerRdbCommand } from '../../../services/cli/commands/rdb';
import { FIXTURE_DIR, loadFixture } from './fixture-helpers';

function collect(stream: PassThrough): () => string {
  const parts: Buffer[] = [];
  stream.on('data', (d: Buffer) => parts.push(d));
  return () => Buffer.concat(parts).toString('utf8');
}

describe('tandem rdb inspect', () => {
  it('prints one JSON line per key matching the fixture, and a summary on stderr', async () => {
    const { expected } = loadFixture('redis-7.4.1', 'standalone');
    const out = new PassThrough();
    const err = new PassThrough();
    const stdout = collect(out);
    const stderr = collect(err);
    const summary = await inspectRdb(join(FIXTURE_DIR, 'redis-7.4.1', 'standalone.rdb'), out, err);
    const lines = stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const total = Object.values(expected.dbs).reduce((n, ks) => n + Object.keys(ks).length, 0);
    expect(lines).toHaveLength(total);
    for (const line of lines) {
      const want = expected.dbs[String(line.db)][Buffer.from(line.key as string, 'base64').toString()];
      expect(line).toEqual({ db: line.db, key: line.key, type: want.type, expireAt: want.pexpiretime, payload: want.dump, value: want.value });
    }
    expect(summary).toMatchObject({ rdbVersion: 12, keys: total, dbs: [0, 1, 3], functions: 1 });
    expect(JSON.parse(stderr().trim())).toMatchObject({ summary: true, keys: total, rdbVersion: 12 });
  });

  it('registers as a commander subcommand', () => {
    const program = new Command();
    registerRdbCommand(program);
    const rdb = program.commands.find((c) => c.name() === 'rdb');
    expect(rdb?.commands.map((c) => c.name())).toEqual(['inspect']);
  });
});
