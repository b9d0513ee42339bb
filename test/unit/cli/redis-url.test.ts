import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeOptions, parseRedisUrl, redactUrls } from '../../../services/cli/redis-url';
import { TandemError } from '../../../services/shared/errors';

describe('parseRedisUrl', () => {
  it('reads cluster seeds', () => {
    const t = parseRedisUrl('redis://10.0.0.1:7000,10.0.0.2:7001');
    expect(t.seeds).toEqual([{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }]);
    expect(t.tls).toBe(false);
    expect(t.password).toBeUndefined();
    expect(t.display).toBe('redis://10.0.0.1:7000,10.0.0.2:7001');
  });

  it('reads user and password, percent-decoded, and never shows the password', () => {
    const t = parseRedisUrl('rediss://app:p%40ss:w@h:6380');
    expect(t).toMatchObject({ tls: true, username: 'app', password: 'p@ss:w', seeds: [{ host: 'h', port: 6380 }] });
    expect(t.display).toBe('rediss://app:***@h:6380');
  });

  it('takes a password without a user', () => {
    const t = parseRedisUrl('redis://:secret@h:1');
    expect(t.username).toBeUndefined();
    expect(t.password).toBe('secret');
    expect(t.display).toBe('redis://:***@h:1');
  });

  it('defaults the port to 6379 and accepts IPv6 in brackets', () => {
    expect(parseRedisUrl('redis://h').seeds).toEqual([{ host: 'h', port: 6379 }]);
    expect(parseRedisUrl('redis://[::1]:7000').seeds).toEqual([{ host: '::1', port: 7000 }]);
  });

  it('takes a standalone node\'s /db only where the caller allows it (replay --target), and never with several seeds', () => {
    const t = parseRedisUrl('redis://u:pw@h:6380/3', { allowDb: true });
    expect(t).toMatchObject({ db: 3, seeds: [{ host: 'h', port: 6380 }], username: 'u', password: 'pw' });
    expect(t.display).toBe('redis://u:***@h:6380/3');
    expect(parseRedisUrl('redis://h:1/', { allowDb: true }).db).toBeUndefined();
    expect(() => parseRedisUrl('redis://h:1/3')).toThrow(/database number is not taken here/);
    expect(() => parseRedisUrl('redis://a:1,b:2/3', { allowDb: true })).toThrow(/single host:port/);
    expect(() => parseRedisUrl('redis://h:1/x', { allowDb: true })).toThrow(TandemError);
  });

  it('takes the password from an environment variable', () => {
    const t = parseRedisUrl('redis://u@h:1', { passwordEnv: 'PW', env: { PW: 'from-env' } });
    expect(t.password).toBe('from-env');
    expect(t.display).toBe('redis://u:***@h:1');
    expect(() => parseRedisUrl('redis://h:1', { passwordEnv: 'NOPE', env: {} })).toThrow(/NOPE .* is not set/);
  });

  it.each(['http://h:1', 'redis://', 'redis://h:0', 'redis://h:99999', 'redis://h:x', 'h:6379', 'redis://h:1/2'])('refuses %s as a usage error', (url) => {
    let err: unknown;
    try {
      parseRedisUrl(url);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TandemError);
    expect((err as TandemError).code).toBe('USAGE');
  });

  it('never echoes a password in its errors', () => {
    expect(() => parseRedisUrl('redis://u:topsecret@h:bad')).toThrow(/redis:\/\/u:\*\*\*@h:bad/);
    expect(() => parseRedisUrl('redis://u:topsecret@h:bad')).not.toThrow(/topsecret/);
  });

  it('gives ioredis auth and TLS options', () => {
    const o = nodeOptions(parseRedisUrl('rediss://u:p@h:1'));
    expect(o).toMatchObject({ username: 'u', password: 'p', tls: {}, lazyConnect: true });
    expect(nodeOptions(parseRedisUrl('redis://h:1')).tls).toBeUndefined();
  });

  it('reads the --tls-* files into the TLS options of a rediss:// target', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tandem-tls-'));
    for (const f of ['ca.pem', 'c.pem', 'k.pem']) writeFileSync(join(dir, f), `${f} bytes`);
    const o = nodeOptions(parseRedisUrl('rediss://h:1', { tls: { ca: join(dir, 'ca.pem'), cert: join(dir, 'c.pem'), key: join(dir, 'k.pem') } }));
    expect(o.tls).toEqual({ ca: Buffer.from('ca.pem bytes'), cert: Buffer.from('c.pem bytes'), key: Buffer.from('k.pem bytes') });
  });

  it.each([
    ['redis://h:1', { ca: '/x' }, /--tls-ca is for TLS targets: write rediss:\/\/h:1/],
    ['rediss://h:1', { cert: '/x' }, /--tls-cert and --tls-key go together/],
    ['rediss://h:1', { ca: '/no/such/file' }, /cannot read --tls-ca \/no\/such\/file/],
  ])('refuses %s with %j as a usage error', (url, tls, message) => {
    let err: unknown;
    try {
      parseRedisUrl(url, { tls });
    } catch (e) {
      err = e;
    }
    expect((err as TandemError).code).toBe('USAGE');
    expect((err as Error).message).toMatch(message);
  });
});

describe('redactUrls', () => {
  it('hides every password in a text', () => {
    expect(redactUrls('a redis://u:p1@h:1 and rediss://:p2@k:2 end')).toBe('a redis://u:***@h:1 and rediss://:***@k:2 end');
    expect(redactUrls('redis://h:1')).toBe('redis://h:1');
  });
});
