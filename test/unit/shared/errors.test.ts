import { RETRIABLE, TandemError, isRetriable } from '../../../services/shared/errors';

describe('TandemError', () => {
  it('takes retriable from its code, never from the throw site', () => {
    expect(new TandemError('REDIS_UNAVAILABLE', 'connection lost').retriable).toBe(true);
    expect(new TandemError('REPL_LINK_LOST', 'socket closed').retriable).toBe(true);
    expect(new TandemError('REPL_AUTH', 'WRONGPASS').retriable).toBe(false);
    expect(new TandemError('KAFKA_FENCED', 'fenced').retriable).toBe(false);
    for (const [code, retriable] of Object.entries(RETRIABLE)) {
      expect(isRetriable(new TandemError(code as keyof typeof RETRIABLE, 'x'))).toBe(retriable);
    }
  });

  it('wraps a foreign error under the given code, and keeps a TandemError\'s code and class', () => {
    const socket = new Error('read ECONNRESET');
    const wrapped = TandemError.wrap('REDIS_UNAVAILABLE', 'reading INFO from h:1', socket);
    expect(wrapped).toMatchObject({ code: 'REDIS_UNAVAILABLE', retriable: true, message: 'reading INFO from h:1: read ECONNRESET', cause: socket });
    const auth = new TandemError('REDIS_AUTH', 'WRONGPASS');
    expect(TandemError.wrap('REDIS_UNAVAILABLE', 'ctx', auth)).toMatchObject({ code: 'REDIS_AUTH', retriable: false, cause: auth });
  });

  it('ends a retry loop with a non-retriable RETRIES_EXHAUSTED, whatever the last failure was', () => {
    const last = new TandemError('REPL_LINK_LOST', 'socket closed');
    expect(TandemError.exhausted('link h:1 gave up after 50 consecutive failures', last)).toMatchObject({
      code: 'RETRIES_EXHAUSTED',
      retriable: false,
      message: 'link h:1 gave up after 50 consecutive failures: socket closed',
      cause: last,
    });
  });
});
