import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandParser } from '../../../../services/source/resp/command-parser';
import { encodeCommand } from '../../../../services/shared/resp';
import { CommandStream, type StreamStep } from '../../../../services/source/replication/command-stream';
import type { ReplicationEvent } from '../../../../services/source/replication/types';

const bytes = readFileSync(join(__dirname, '../../../fixtures/resp/stream-small.bin'));
const REPLID = 'a'.repeat(40);

function steps(input: Buffer, db = 0): StreamStep[] {
  const stream = new CommandStream(REPLID, db);
  return new CommandParser(0).feed(input).map((c) => stream.accept(c)).filter((s): s is StreamStep => s !== null);
}

describe('CommandStream on a captured Redis 7.0 stream', () => {
  const all = steps(bytes);
  const events = all.filter((s): s is ReplicationEvent => s.type !== 'control');

  it('groups MULTI … EXEC (and EVAL effects) into one transaction event', () => {
    const txs = events.filter((e) => e.type === 'transaction');
    expect(txs.map((e) => e.commands.map((c) => c.argv[0].toString()))).toEqual([['INCR', 'LPUSH'], ['set', 'incr']]);
  });

  it('keeps PING, REPLCONF, SELECT, MULTI and EXEC out of the data', () => {
    const names = events.flatMap((e) => e.commands.map((c) => c.argv[0].toString().toLowerCase()));
    expect(names).toEqual(['set', 'set', 'incr', 'rpush', 'sadd', 'zadd', 'hset', 'xadd', 'incr', 'lpush', 'set', 'incr', 'set', 'set', 'del']);
  });

  it('tracks SELECT into each command and checkpoint', () => {
    const db3 = events.find((e) => e.commands[0].argv[1].toString() === 'db3key');
    expect(db3?.db).toBe(3);
    expect(db3?.checkpoint.db).toBe(3);
    const after = events.find((e) => e.commands[0].argv[1].toString() === 'bin');
    expect(after?.db).toBe(0);
  });

  it('marks REPLCONF GETACK, and only it, as asking for an ACK', () => {
    const controls = all.filter((s) => s.type === 'control');
    expect(controls.filter((s) => s.type === 'control' && s.getack)).toHaveLength(1);
  });

  it('gives checkpoints that only grow and end at the last byte', () => {
    const offsets = all.map((s) => s.checkpoint.offset);
    expect([...offsets].sort((a, b) => a - b)).toEqual(offsets);
    expect(offsets[offsets.length - 1]).toBe(bytes.length);
    expect(all.every((s) => s.checkpoint.replid === REPLID)).toBe(true);
  });

  it('never produces a checkpoint inside MULTI', () => {
    const multi = encodeCommand(['MULTI']);
    const input = Buffer.concat([multi, encodeCommand(['SET', 'a', '1']), encodeCommand(['PING']), encodeCommand(['SELECT', '2']), encodeCommand(['SET', 'b', '2']), encodeCommand(['EXEC'])]);
    const out = steps(input);
    expect(out).toHaveLength(1);
    expect(out[0].type).toBe('transaction');
    expect(out[0].checkpoint).toEqual({ replid: REPLID, offset: input.length, db: 2 });
    if (out[0].type !== 'control') expect(out[0].commands.map((c) => c.db)).toEqual([0, 2]);
  });

  it('turns an empty transaction into a checkpoint, not an event', () => {
    const out = steps(Buffer.concat([encodeCommand(['MULTI']), encodeCommand(['EXEC'])]));
    expect(out.map((s) => s.type)).toEqual(['control']);
  });

  it('starts from the db of a resumed checkpoint', () => {
    const [step] = steps(encodeCommand(['SET', 'a', '1']), 7);
    expect(step.type === 'command' && step.db).toBe(7);
  });

  it('refuses EXEC without MULTI and nested MULTI as RESP_PROTOCOL', () => {
    expect(() => steps(encodeCommand(['EXEC']))).toThrow(/EXEC without MULTI/);
    expect(() => steps(Buffer.concat([encodeCommand(['MULTI']), encodeCommand(['MULTI'])]))).toThrow(/MULTI inside MULTI/);
    expect(() => steps(encodeCommand(['SELECT', 'x']))).toThrow(/SELECT/);
  });
});
