import { globMatch, isLiteralPattern } from '../../../services/cli/replay/glob';

const m = (p: string, k: string | Buffer) => globMatch(Buffer.from(p), typeof k === 'string' ? Buffer.from(k) : k);

describe('--key glob, as Redis KEYS/SCAN MATCH', () => {
  test('* and ?', () => {
    expect(m('user:*', 'user:1')).toBe(true);
    expect(m('user:*', 'user:')).toBe(true);
    expect(m('user:*', 'users:1')).toBe(false);
    expect(m('*:{t}:*', 'a:{t}:b')).toBe(true);
    expect(m('h?llo', 'hello')).toBe(true);
    expect(m('h?llo', 'hllo')).toBe(false);
    expect(m('*', '')).toBe(true);
    expect(m('a*b*c', 'axxbyyc')).toBe(true);
    expect(m('a*b*c', 'axxbyy')).toBe(false);
  });

  test('classes, negation, ranges and escapes', () => {
    expect(m('h[ae]llo', 'hallo')).toBe(true);
    expect(m('h[ae]llo', 'hillo')).toBe(false);
    expect(m('h[^e]llo', 'hallo')).toBe(true);
    expect(m('h[^e]llo', 'hello')).toBe(false);
    expect(m('k[0-9]', 'k5')).toBe(true);
    expect(m('k[9-0]', 'k5')).toBe(true);
    expect(m('k[0-9]', 'kx')).toBe(false);
    expect(m('a\\*b', 'a*b')).toBe(true);
    expect(m('a\\*b', 'axb')).toBe(false);
  });

  test('binary keys match byte for byte', () => {
    expect(globMatch(Buffer.from([0x6b, 0x2a]), Buffer.from([0x6b, 0xff, 0x00]))).toBe(true);
    expect(globMatch(Buffer.from([0x6b, 0x3f]), Buffer.from([0x6b, 0xff]))).toBe(true);
  });

  test('a pattern without wildcards is literal (one key, one partition)', () => {
    expect(isLiteralPattern(Buffer.from('user:{1}:name'))).toBe(true);
    expect(isLiteralPattern(Buffer.from('user:*'))).toBe(false);
    expect(isLiteralPattern(Buffer.from('user:[12]'))).toBe(false);
  });
});
