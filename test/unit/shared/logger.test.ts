import { Writable } from 'node:stream';
import { TandemError } from '../../../services/shared/errors';
import { createLogger, MAX_LOG_VALUE_CHARS } from '../../../services/shared/logger';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, lines: () => chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logger', () => {
  test('JSON lines carry the component, and secrets are redacted at any depth', () => {
    const { stream, lines } = capture();
    const log = createLogger('source', { destination: stream });
    log.info({ redis: { password: 'hunter2', username: 'repl' }, kafka: { sasl: { password: 'pw2' } }, tls: { key: 'PEM' }, key: 'user:1' }, 'connecting');
    const [line] = lines();
    expect(line.component).toBe('source');
    expect(line.msg).toBe('connecting');
    expect(JSON.stringify(line)).not.toMatch(/hunter2|pw2|PEM/);
    expect((line.redis as Record<string, unknown>).username).toBe('repl');
    expect(line.key).toBe('user:1'); // a Redis key is not a secret
  });

  test('long messages are cut with a note of what was left out', () => {
    const { stream, lines } = capture();
    createLogger('sink', { destination: stream }).warn('x'.repeat(MAX_LOG_VALUE_CHARS + 500));
    const msg = lines()[0].msg as string;
    expect(msg.length).toBeLessThan(MAX_LOG_VALUE_CHARS + 40);
    expect(msg).toContain('(500 more chars)');
  });

  test('err is logged as an object: type, code, retriable, message and the chain of causes', () => {
    const { stream, lines } = capture();
    const socket = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:7000'), { code: 'ECONNREFUSED' });
    const err = TandemError.wrap('REDIS_UNAVAILABLE', 'cannot connect to Redis 127.0.0.1:7000', socket);
    createLogger('source', { destination: stream }).warn({ err }, 'retrying');
    const logged = lines()[0].err as Record<string, unknown>;
    expect(logged).toMatchObject({ type: 'TandemError', code: 'REDIS_UNAVAILABLE', retriable: true, message: 'cannot connect to Redis 127.0.0.1:7000: connect ECONNREFUSED 127.0.0.1:7000' });
    expect(logged.stack).toBeUndefined(); // an expected failure: its message says it all
    expect(logged.cause).toMatchObject({ type: 'Error', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:7000' });
    expect((logged.cause as Record<string, unknown>).stack).toMatch(/^Error: connect ECONNREFUSED/);
  });

  test('err keeps no other field of the error: an ioredis error carries the command it failed, AUTH\'s password included', () => {
    const { stream, lines } = capture();
    // The shape of an ioredis ReplyError for a refused AUTH.
    const reply = Object.assign(new Error('WRONGPASS invalid username-password pair or user is disabled.'), { command: { name: 'auth', args: ['tandem', 'hunter2'] } });
    reply.name = 'ReplyError';
    createLogger('sink', { destination: stream }).error({ err: new TandemError('REDIS_AUTH', 'h:1 refused AUTH as tandem', { cause: reply }) }, 'login');
    const line = JSON.stringify(lines()[0]);
    expect(line).toContain('WRONGPASS');
    expect(line).not.toContain('hunter2');
  });

  test('err hides the password of a URL its message quotes', () => {
    const { stream, lines } = capture();
    const cause = new Error('getaddrinfo ENOTFOUND for rediss://tandem:hunter2@redis-b:6380/0');
    createLogger('cli', { destination: stream }).warn({ err: new TandemError('REDIS_UNAVAILABLE', 'cannot reach the target', { cause }) }, 'x');
    const line = JSON.stringify(lines()[0]);
    expect(line).toContain('rediss://tandem:[redacted]@redis-b:6380/0');
    expect(line).not.toContain('hunter2');
  });
});
