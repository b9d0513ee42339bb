import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import RedisParser from 'redis-parser';
import { classifyApplyError } from '../../../services/sink/apply/reply-errors';
import type { Reply } from '../../../services/sink/apply/resp-pipe';
import { execResult, mapReplies } from '../../../services/sink/apply/writer';
import { item } from './fixtures';

/**
 * What a real Redis 7.0 answers to the sink's MULTI blocks
 * (test/fixtures/resp/exec-replies.json, captured by capture-exec-replies.ts),
 * parsed as RespPipe parses it, and what the writer makes of it.
 */
interface Capture {
  name: string;
  replies: string;
}

const captures = JSON.parse(readFileSync(join(__dirname, '../../fixtures/resp/exec-replies.json'), 'utf8')) as Capture[];

function parse(name: string): Reply[] {
  const c = captures.find((x) => x.name === name);
  if (!c) throw new Error(`no capture ${name}`);
  const out: Reply[] = [];
  const parser = new RedisParser({ returnBuffers: false, returnReply: (r: Reply) => out.push(r), returnError: (e: Error) => out.push(e) });
  parser.execute(Buffer.from(c.replies, 'base64'));
  return out;
}

const classify = (replies: Reply[]) => {
  try {
    execResult(replies);
  } catch (err) {
    return classifyApplyError(err);
  }
  return undefined;
};

describe('the writer reads real EXEC replies', () => {
  test('applied: the marker and every command ran', () => {
    const items = [item(0, 10, [['SET', 'k', 'v']]), item(0, 10, [['INCR', 'n']], 3, 1)];
    const exec = execResult(parse('applied'));
    expect(mapReplies(items, exec, 'slot 0').map((o) => o.status)).toEqual(['applied', 'applied']);
  });

  test('a command refused at queue time aborts the block: the event\'s own fault (isolate it, DLQ)', () => {
    const c = classify(parse('queue-error'));
    expect(c).toMatchObject({ kind: 'queue-error', message: expect.stringMatching(/wrong number of arguments/) });
  });

  test('a command failing at run time: only that event is rejected, the others applied', () => {
    const items = [item(0, 10, [['LPUSH', 's', 'y']]), item(0, 10, [['INCR', 'n']], 3, 1)];
    const out = mapReplies(items, execResult(parse('runtime-error')), 'slot 0');
    expect(out.map((o) => o.status)).toEqual(['rejected', 'applied']);
    expect(out[0]).toMatchObject({ error: expect.stringMatching(/^LPUSH: WRONGTYPE/) });
  });

  test('OOM (maxmemory reached, noeviction) is transient and "full": retried until the target has memory, never a DLQ entry', () => {
    expect(classify(parse('oom'))).toMatchObject({ kind: 'transient', reason: 'OOM', full: true, refresh: false });
  });
});
