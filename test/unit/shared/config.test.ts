import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, resolveSecret } from '../../../services/shared/config';
import { baseConfigSchema } from '../../../services/shared/config-schema';
import { TandemError } from '../../../services/shared/errors';

const dir = mkdtempSync(join(tmpdir(), 'tandem-config-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function configError(fn: () => unknown): TandemError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TandemError);
    expect((err as TandemError).code).toBe('CONFIG_INVALID');
    return err as TandemError;
  }
  throw new Error('expected a CONFIG_INVALID error');
}

const GOOD = `
dc: a
kafka:
  brokers: [127.0.0.1:9092]
redis:
  nodes: [127.0.0.1:7000, 127.0.0.1:7001]
  password: { env: REDIS_PW }
`;

describe('config loader', () => {
  test('a valid file loads, with defaults filled in', () => {
    const cfg = loadConfig(baseConfigSchema, file('good.yaml', GOOD), {});
    expect(cfg.dc).toBe('a');
    expect(cfg.kafka.clientId).toBe('tandem');
    expect(cfg.http.port).toBe(9464);
    expect(cfg.log.level).toBe('info');
  });

  test('every problem is reported at once, each with its field path', () => {
    const bad = file('bad.yaml', `
dc: "A B"
kafka:
  brokers: [nocolon]
redis:
  nodes: []
http:
  port: 70000
extra: 1
`);
    const err = configError(() => loadConfig(baseConfigSchema, bad, {}));
    expect(err.message).toContain('dc:');
    expect(err.message).toContain('kafka.brokers.0: expected host:port');
    expect(err.message).toContain('redis.nodes:');
    expect(err.message).toContain('http.port:');
    expect(err.message).toMatch(/Unrecognized key.*extra/);
    expect(err.message).toMatch(/\(5 problems\)/);
  });

  test('env overrides TANDEM__A__B reach nested fields, with YAML scalars and comma lists', () => {
    const cfg = loadConfig(baseConfigSchema, file('env.yaml', GOOD), {
      TANDEM__DC: 'b',
      TANDEM__KAFKA__BROKERS: 'k1:9092,k2:9092',
      TANDEM__HTTP__PORT: '9000',
      TANDEM__KAFKA__CLIENT_ID: 'edge',
      TANDEM_KAFKA_PORT: '1', // not a config override: single underscore
    });
    expect(cfg.dc).toBe('b');
    expect(cfg.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(cfg.http.port).toBe(9000);
    expect(cfg.kafka.clientId).toBe('edge');
  });

  test('an inline secret is refused; secrets come from env or files', () => {
    const inline = file('inline.yaml', GOOD.replace('{ env: REDIS_PW }', 'hunter2'));
    const err = configError(() => loadConfig(baseConfigSchema, inline, {}));
    expect(err.message).toContain('redis.password');
    expect(err.message).not.toContain('hunter2');
    const pwFile = file('pw', 's3cret\n');
    expect(resolveSecret({ file: pwFile }, 'redis.password')).toBe('s3cret');
    process.env.TANDEM_TEST_SECRET = 'from-env';
    expect(resolveSecret({ env: 'TANDEM_TEST_SECRET' }, 'redis.password')).toBe('from-env');
    expect(() => resolveSecret({ env: 'TANDEM_NOT_SET_ANYWHERE' }, 'redis.password')).toThrow(/redis.password: env var TANDEM_NOT_SET_ANYWHERE is not set/);
  });

  test('invalid YAML names the line; a missing file names the file', () => {
    const err = configError(() => loadConfig(baseConfigSchema, file('broken.yaml', 'dc: a\nkafka: [\n'), {}));
    expect(err.message).toMatch(/not valid YAML at line \d+/);
    expect(configError(() => loadConfig(baseConfigSchema, join(dir, 'nope.yaml'), {})).message).toContain('nope.yaml');
  });
});
