import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import RedisParser from 'redis-parser';
import { TandemError } from '../../../services/shared/errors';
import { MARKER_GONE, MARKER_GUARD, TargetBehindError, isBehind } from '../../../services/sink/apply/marker-guard';
import type { Reply } from '../../../services/sink/apply/resp-pipe';
import { guardedExecResult, mapReplies } from '../../../services/sink/apply/writer';
import { item } from './fixtures';

/**
 * What a real Redis 7.0 master (and its replica) answers to the sink's
 * guarded blocks, WATCH + marker check + MULTI … EXEC, and to WAIT
 * (test/fixtures/resp/guard-replies.json, captured by
 * capture-guard-replies.ts), parsed as RespPipe parses it.
 */
interface Capture {
  name: string;
  request: string;
  replies: string;
  afterOnMaster?: string;
  afterOnReplica?: string;
}

const captures = JSON.parse(readFileSync(join(__dirname, '../../fixtures/resp/guard-replies.json'), 'utf8')) as Capture[];
const capture = (name: string) => {
  const c = captures.find((x) => x.name === name);
  if (!c) throw new Error(`no capture ${name}`);
  return c;
};

function parse(base64: string | undefined): Reply[] {
  const out: Reply[] = [];
  const parser = new RedisParser({ returnBuffers: false, returnReply: (r: Reply) => out.push(r), returnError: (e: Error) => out.push(e) });
  parser.execute(Buffer.from(base64 ?? '', 'base64'));
  return out;
}

const items = () => [item(0, 11, [['INCR', 'n']])];

describe('the marker guard on real replies', () => {
  test('the captured blocks carry the guard script the writer sends', () => {
    expect(capture('guard-applied').request).toContain(MARKER_GUARD);
  });

  test.each(['guard-applied', 'guard-first-apply'])('%s: the marker is what the sink read, the check says 1 and the block runs', (name) => {
    const replies = parse(capture(name).replies);
    expect(replies[1]).toBe(1);
    const exec = guardedExecResult(replies, false);
    expect(exec).not.toBeNull();
    expect(mapReplies(items(), exec!, 'slot 0').map((o) => o.status)).toEqual(['applied']);
    expect(parse(capture(name).afterOnReplica)).toEqual(['3:11:0', '1']);
  });

  test('another sink applied since the sink read the marker: the check says 0, EXEC is nil, nothing ran, nothing reached the replica', () => {
    const c = capture('guard-stale');
    const replies = parse(c.replies);
    expect(replies[1]).toBe(0);
    expect(guardedExecResult(replies, false)).toBeNull();
    // The check rewrote the marker unreplicated: same value on both, the INCR never ran.
    expect(parse(c.afterOnMaster)).toEqual(['3:12:0', null]);
    expect(parse(c.afterOnReplica)).toEqual(['3:12:0', null]);
  });

  test('the marker is gone (a failover lost it): EXEC is nil and the check leaves no key behind', () => {
    const c = capture('guard-marker-gone');
    expect(guardedExecResult(parse(c.replies), false)).toBeNull();
    expect(parse(c.afterOnMaster)).toEqual([0, null]);
    expect(parse(c.afterOnReplica)).toEqual([0, null]);
  });

  test('the marker is gone and the sink says the last one was its own on this connection (FLUSHALL, eviction): the check says 2, the block runs and writes it again', () => {
    const c = capture('guard-marker-gone-ours');
    const replies = parse(c.replies);
    expect(replies[1]).toBe(MARKER_GONE);
    const exec = guardedExecResult(replies, false);
    expect(mapReplies(items(), exec!, 'slot 0').map((o) => o.status)).toEqual(['applied']);
    expect(parse(c.afterOnReplica)).toEqual(['3:11:0', '1']);
  });

  test('another sink applied since: the missing-is-ours flag does not let the block run', () => {
    const c = capture('guard-stale-ours');
    expect(guardedExecResult(parse(c.replies), false)).toBeNull();
    expect(parse(c.afterOnMaster)).toEqual(['3:12:0', null]);
  });

  test('the marker written by another connection between WATCH and EXEC: the check passed, EXEC is still nil', () => {
    const replies = parse(capture('guard-changed-after-watch').replies);
    expect(replies[1]).toBe(1);
    expect(guardedExecResult(replies, false)).toBeNull();
  });

  test('with ASK, each of WATCH, EVAL and MULTI follows its own ASKING', () => {
    const replies = parse(capture('guard-applied').replies);
    const withAsk: Reply[] = ['OK', replies[0], 'OK', replies[1], 'OK', ...replies.slice(2)];
    expect(guardedExecResult(withAsk, true)).toEqual(['OK', 1]);
  });

  test('a check refused for good while the block ran anyway stops the sink (the apply was not checked)', () => {
    const replies = parse(capture('guard-applied').replies);
    replies[1] = Object.assign(new Error("NOPERM User tandem-sink has no permissions to run the 'eval' command"), { name: 'ReplyError' });
    expect(() => guardedExecResult(replies, false)).toThrow(TandemError);
  });
});

describe('WAIT on real replies', () => {
  test('a replica in sync acknowledges: 1', () => {
    expect(parse(capture('wait-acked').replies)).toEqual(['OK', 1]);
  });
  test('a replica asleep acknowledges nothing: 0 at the timeout, a number the writer reads as "not durable yet"', () => {
    expect(parse(capture('wait-timeout').replies)).toEqual(['OK', 0]);
  });
});

describe('a marker behind what the sink applied', () => {
  const applied = { partition: 3, offset: 40n, index: 2 };
  test.each([
    ['no marker left', null, true],
    ['an older record', { partition: 3, offset: 39n, index: 9 }, true],
    ['an earlier event of the same record', { partition: 3, offset: 40n, index: 1 }, true],
    ['the same event', { partition: 3, offset: 40n, index: 2 }, false],
    ['further (another sink went on)', { partition: 3, offset: 41n, index: 0 }, false],
    ['a whole-record marker of that record', { partition: 3, offset: 40n }, false],
  ])('%s', (_what, marker, behind) => {
    expect(isBehind(marker, applied)).toBe(behind);
  });
  test('several slots behind in one batch rewind to the earliest', () => {
    const e = TargetBehindError.earliest([new TargetBehindError('t', 3, 50n, 'x'), new TargetBehindError('t', 3, 12n, 'y'), new TargetBehindError('t', 3, 30n, 'z')]);
    expect(e.offset).toBe(12n);
    expect(e.retriable).toBe(true);
  });
});
