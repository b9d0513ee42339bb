import { classify, needsContent, ttlDifference, type KeyState } from '../../../services/cli/verify/classify';
import { keyName } from '../../../services/cli/verify/compare';
import { isMarkerKey, isReservedKey } from '../../../services/shared/marker';

const s = (o: Partial<KeyState> = {}): KeyState => ({ type: 'string', pttl: -1, ...o });
const dump = (x: string) => Buffer.from(x);

describe('classify (how a key differs)', () => {
  it('reports a key on one side only as missing on the other', () => {
    expect(classify(undefined, s(), 'full', 0)?.kind).toBe('missing-in-a');
    expect(classify(s({ type: 'hash' }), undefined, 'exists', 0)).toEqual({ kind: 'missing-in-b', detail: 'hash key exists only in a' });
    expect(classify(undefined, undefined, 'full', 0)).toBeUndefined();
  });

  it('reports a different type in every mode', () => {
    for (const mode of ['full', 'length', 'exists'] as const) {
      expect(classify(s({ type: 'list' }), s({ type: 'set' }), mode, 0)).toEqual({ kind: 'type', detail: 'list in a, set in b' });
    }
  });

  it('mode exists looks at nothing else', () => {
    expect(classify(s({ dump: dump('1'), pttl: 5 }), s({ dump: dump('2') }), 'exists', 0)).toBeUndefined();
  });

  it('mode length reports a different length as a value difference, and ignores TTLs', () => {
    expect(classify(s({ type: 'list', length: 3 }), s({ type: 'list', length: 4 }), 'length', 0)).toEqual({ kind: 'value', detail: 'list length 3 in a, 4 in b' });
    expect(classify(s({ length: 3, pttl: 1000 }), s({ length: 3 }), 'length', 0)).toBeUndefined();
  });

  it('mode full: equal DUMPs are equal; different DUMPs need equal content', () => {
    expect(classify(s({ dump: dump('x') }), s({ dump: dump('x') }), 'full', 0)).toBeUndefined();
    const a = s({ type: 'set', dump: dump('x') });
    const b = s({ type: 'set', dump: dump('y') });
    expect(needsContent(a, b)).toBe(true);
    expect(classify(a, b, 'full', 0)).toEqual({ kind: 'value', detail: 'set values differ' });
    expect(classify({ ...a, content: '[1,2]' }, { ...b, content: '[1,2]' }, 'full', 0)).toBeUndefined();
    expect(classify({ ...a, content: '[1,2]' }, { ...b, content: '[1,3]' }, 'full', 0)?.kind).toBe('value');
  });

  it('mode full: a value difference wins over a TTL difference', () => {
    expect(classify(s({ dump: dump('1'), pttl: 10 }), s({ dump: dump('2'), pttl: 99999 }), 'full', 0)?.kind).toBe('value');
  });

  it('mode full: TTLs within the tolerance are equal', () => {
    expect(classify(s({ dump: dump('x'), pttl: 10_000 }), s({ dump: dump('x'), pttl: 9_000 }), 'full', 2000)).toBeUndefined();
    expect(classify(s({ dump: dump('x'), pttl: 10_000 }), s({ dump: dump('x'), pttl: 5_000 }), 'full', 2000)?.kind).toBe('ttl');
  });
});

describe('ttlDifference', () => {
  it('an expiry on one side only is a difference', () => {
    expect(ttlDifference(-1, 5000, 2000)).toEqual({ kind: 'ttl', detail: 'no expiry in a, pttl 5000 ms in b' });
    expect(ttlDifference(5000, -1, 2000)?.kind).toBe('ttl');
    expect(ttlDifference(-1, -1, 0)).toBeUndefined();
  });
});

describe('keys', () => {
  it('leaves out every reserved key (verify compares data, not Tandem\'s bookkeeping); a marker is one of them', () => {
    expect(isReservedKey(Buffer.from('__tandem:{ab}:o:a'))).toBe(true);
    expect(isMarkerKey(Buffer.from('__tandem:{ab}:o:a'))).toBe(true);
    expect(isReservedKey(Buffer.from('__tandem:other'))).toBe(true);
    expect(isMarkerKey(Buffer.from('__tandem:other'))).toBe(false);
    expect(isReservedKey(Buffer.from('__tandem'))).toBe(false);
    expect(isReservedKey(Buffer.from('user:1'))).toBe(false);
  });

  it('names binary keys with their bytes in base64', () => {
    expect(keyName(Buffer.from('plain'))).toEqual({ key: 'plain' });
    expect(keyName(Buffer.from([0xff, 0x00]))).toEqual({ key: '\u00ff\u0000', keyBase64: '/wA=' });
  });
});
