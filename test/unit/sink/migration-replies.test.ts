import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import RedisParser from 'redis-parser';
import { classifyApplyError } from '../../../services/sink/apply/reply-errors';
import type { Reply } from '../../../services/sink/apply/resp-pipe';
import { execResult, mapReplies } from '../../../services/sink/apply/writer';
import { item } from './fixtures';

/**
 * What a real Redis 7.0 Cluster answers to the sink's MULTI blocks while a
 * slot migrates between two masters, as `redis-cli --cluster reshard` moves
 * it (test/fixtures/resp/migration-replies.json, captured by
 * capture-migration-replies.ts), and what the writer makes of it: every
 * reply of a migration is a transient "not here / not now", after which
 * nothing of the block ran, so the run is retried in order (ASK: on the
 * importing master, after ASKING), never sent to the DLQ
 * (test/integration/topology/target-reshard.test.ts runs it for real).
 */
interface Capture {
  name: string;
  replies: string;
}

const captures = JSON.parse(readFileSync(join(__dirname, '../../fixtures/resp/migration-replies.json'), 'utf8')) as Capture[];

/** The replies as RespPipe parses them; a block sent after ASKING loses ASKING's reply, as in Writer.exec. */
function parse(name: string): Reply[] {
  const c = captures.find((x) => x.name === name);
  if (!c) throw new Error(`no capture ${name}`);
  const out: Reply[] = [];
  const parser = new RedisParser({ returnBuffers: false, returnReply: (r: Reply) => out.push(r), returnError: (e: Error) => out.push(e) });
  parser.execute(Buffer.from(c.replies, 'base64'));
  return name.startsWith('importing-') ? out.slice(1) : out;
}

const classify = (replies: Reply[]) => {
  try {
    execResult(replies);
  } catch (err) {
    return classifyApplyError(err);
  }
  throw new Error('EXEC ran');
};

describe('the writer reads real replies of a slot migration', () => {
  test('exporting master, marker already moved: ASK at queue time, EXECABORT; retried on the importing master without a refresh', () => {
    expect(classify(parse('migrating-ask'))).toEqual({
      kind: 'transient',
      reason: 'ASK',
      message: 'ASK 13907 127.0.0.1:7532',
      refresh: false,
      ask: '127.0.0.1:7532',
    });
  });

  test('every key gone from the exporting master (a new key too): ASK to the importing master', () => {
    expect(classify(parse('migrating-all-gone-ask'))).toMatchObject({ kind: 'transient', reason: 'ASK', ask: '127.0.0.1:7532' });
  });

  test('importing master, a key of the block still on the exporting one: EXEC answers TRYAGAIN, nothing ran; retried from the slot owner after a backoff', () => {
    for (const name of ['importing-tryagain', 'importing-new-key-tryagain']) {
      const c = classify(parse(name));
      expect(c).toMatchObject({ kind: 'transient', reason: 'TRYAGAIN' });
      expect(c).not.toHaveProperty('ask', expect.anything());
    }
  });

  test('importing master, every key of the block there: applied after ASKING', () => {
    const out = mapReplies([item(0, 10, [['INCR', '{0}n']])], execResult(parse('importing-applied')), 'slot 13907');
    expect(out.map((o) => o.status)).toEqual(['applied']);
  });

  test('block sent to the old owner after SETSLOT NODE: MOVED at queue time, EXECABORT; the slot map is refreshed', () => {
    expect(classify(parse('moved'))).toMatchObject({ kind: 'transient', reason: 'MOVED', refresh: true });
  });
});
