import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import RedisParser from 'redis-parser';
import { CommandParser, commandNameIs, type ParsedCommand } from '../../../../services/source/resp/command-parser';
import { encodedLength } from '../../../../services/shared/resp';
import { TandemError } from '../../../../services/shared/errors';

const FIXTURES = join(__dirname, '../../../fixtures/resp');
const load = (name: string) => ({
  bytes: readFileSync(join(FIXTURES, `${name}.bin`)),
  meta: JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as { startOffset: number; endOffset: number },
});
const small = load('stream-small');
const large = load('stream-large');

function parseInChunks(bytes: Buffer, start: number, cuts: number[]): ParsedCommand[] {
  const parser = new CommandParser(start);
  const out: ParsedCommand[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    // Copy each chunk, as a socket would hand us fresh buffers.
    out.push(...parser.feed(Buffer.from(bytes.subarray(from, cut))));
    from = cut;
  }
  expect(parser.atCommandBoundary).toBe(true);
  return out;
}

const simplify = (cmds: ParsedCommand[]) => cmds.map((c) => ({ argv: c.argv.map((a) => a.toString('hex')), offsetAfter: c.offsetAfter }));

/** An independent decoding of the same bytes, with redis-parser. */
function decodeWithRedisParser(bytes: Buffer): Buffer[][] {
  const out: Buffer[][] = [];
  const parser = new RedisParser({
    returnBuffers: true,
    returnReply: (reply: unknown) => out.push(reply as Buffer[]),
    returnError: (err: Error) => {
      throw err;
    },
  });
  parser.execute(bytes);
  return out;
}

describe('CommandParser on a captured Redis 7.0 stream', () => {
  const whole = parseInChunks(small.bytes, small.meta.startOffset, []);

  it('ends at the master_repl_offset the master reported', () => {
    expect(whole[whole.length - 1].offsetAfter).toBe(small.meta.endOffset);
  });

  it('reads every command, control commands included', () => {
    expect(whole.map((c) => c.argv[0].toString())).toEqual([
      'SELECT', 'SET', 'SET', 'INCR', 'RPUSH', 'SADD', 'ZADD', 'HSET', 'XADD',
      'MULTI', 'INCR', 'LPUSH', 'EXEC', 'MULTI', 'set', 'incr', 'EXEC',
      'SELECT', 'SET', 'SELECT', 'SET', 'REPLCONF', 'ping', 'DEL', 'ping',
    ]);
    expect(whole[20].argv[2]).toEqual(Buffer.from([0x0d, 0x0a, 0x00, 0xff, 0x2a, 0x24]));
    expect(whole[21].argv.map(String)).toEqual(['REPLCONF', 'GETACK', '*']);
  });

  it('gives each command the offset of its canonical encoding', () => {
    let offset = small.meta.startOffset;
    for (const cmd of whole) {
      offset += encodedLength(cmd.argv);
      expect(cmd.offsetAfter).toBe(offset);
    }
  });

  it('agrees with redis-parser on the arguments', () => {
    expect(whole.map((c) => c.argv)).toEqual(decodeWithRedisParser(small.bytes));
  });

  it('gives the same result at every split point into two chunks', () => {
    const expected = simplify(whole);
    for (let cut = 1; cut < small.bytes.length; cut++) {
      expect(simplify(parseInChunks(small.bytes, small.meta.startOffset, [cut]))).toEqual(expected);
    }
  });

  it('gives the same result when fed one byte at a time', () => {
    const cuts = Array.from({ length: small.bytes.length - 1 }, (_, i) => i + 1);
    expect(simplify(parseInChunks(small.bytes, small.meta.startOffset, cuts))).toEqual(simplify(whole));
  });

  it('gives the same result on a large stream cut at random sizes (200 KB value across chunks)', () => {
    const expected = simplify(parseInChunks(large.bytes, large.meta.startOffset, []));
    expect(expected[expected.length - 1].offsetAfter).toBe(large.meta.endOffset);
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let round = 0; round < 20; round++) {
      const cuts: number[] = [];
      const max = [7, 100, 4096, 65536][round % 4];
      for (let at = 1 + Math.floor(random() * max); at < large.bytes.length; at += 1 + Math.floor(random() * max)) cuts.push(at);
      expect(simplify(parseInChunks(large.bytes, large.meta.startOffset, cuts))).toEqual(expected);
    }
  });

  it('returns views of the input (zero copy) when a command fits in a chunk', () => {
    const parser = new CommandParser(0);
    const [cmd] = parser.feed(small.bytes);
    expect(cmd.argv[0].buffer).toBe(small.bytes.buffer);
  });
});

describe('CommandParser errors', () => {
  const parseError = (bytes: string | Buffer): TandemError => {
    try {
      new CommandParser(0).feed(Buffer.from(bytes));
    } catch (err) {
      return err as TandemError;
    }
    throw new Error('expected a RESP_PROTOCOL error');
  };

  it('refuses an inline command with a clear message', () => {
    const err = parseError('PING\r\n');
    expect(err.code).toBe('RESP_PROTOCOL');
    expect(err.message).toMatch(/inline/);
  });

  it('refuses a bulk not followed by CRLF', () => {
    expect(parseError('*1\r\n$4\r\nPINGxx').code).toBe('RESP_PROTOCOL');
  });

  it('refuses a non-numeric length', () => {
    expect(parseError('*1\r\n$x\r\n').code).toBe('RESP_PROTOCOL');
    expect(parseError('*0\r\n').message).toMatch(/argc/);
  });

  it('refuses a bulk above the configured limit', () => {
    expect(() => new CommandParser(0, { maxBulkLength: 10 }).feed(Buffer.from('*1\r\n$11\r\n'))).toThrow(/limit/);
  });

  it('reports the master offset where the stream broke', () => {
    const err = (() => {
      try {
        new CommandParser(100).feed(Buffer.from('*1\r\n$4\r\nPING\r\n+OK\r\n'));
      } catch (e) {
        return e as Error;
      }
      return new Error('none');
    })();
    expect(err.message).toMatch(/offset 114/);
  });
});

describe('commandNameIs', () => {
  it('compares ASCII names case-insensitively', () => {
    expect(commandNameIs(Buffer.from('ping'), 'ping')).toBe(true);
    expect(commandNameIs(Buffer.from('PiNg'), 'ping')).toBe(true);
    expect(commandNameIs(Buffer.from('pin'), 'ping')).toBe(false);
    expect(commandNameIs(Buffer.from('pinh'), 'ping')).toBe(false);
  });
});
