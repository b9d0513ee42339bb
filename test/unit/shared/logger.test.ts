import { Writable } from 'node:stream';
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
});
