import { RestoreAssembler } from '../../../services/sink/apply/restore-assembler';

const b = (s: string) => Buffer.from(s);
const restore = (key: string) => [b('RESTORE'), b(key), b('0'), b(''), b('REPLACE'), b('ABSTTL')];

describe('restore assembler (big keys sent as payload chunks)', () => {
  test('concatenates the chunks in order and substitutes argv[3]', () => {
    const a = new RestoreAssembler(1 << 20);
    a.addChunk(2, 10n, b('big'), b('abc'));
    a.addChunk(2, 11n, b('big'), b('def'));
    const c = a.complete(2, restore('big'));
    expect(c.status).toBe('ok');
    if (c.status !== 'ok') return;
    expect(c.argv[3].toString()).toBe('abcdef');
    expect(c.argv.map(String)).toEqual(['RESTORE', 'big', '0', 'abcdef', 'REPLACE', 'ABSTTL']);
    expect(a.openKeys).toBe(0);
  });
  test('keeps keys apart, per partition and key', () => {
    const a = new RestoreAssembler(1 << 20);
    a.addChunk(1, 5n, b('k1'), b('1'));
    a.addChunk(1, 6n, b('k2'), b('2'));
    a.addChunk(2, 7n, b('k1'), b('3'));
    a.addChunk(1, 8n, b('k1'), b('4'));
    expect((a.complete(1, restore('k1')) as { argv: Buffer[] }).argv[3].toString()).toBe('14');
    expect((a.complete(2, restore('k1')) as { argv: Buffer[] }).argv[3].toString()).toBe('3');
    expect((a.complete(1, restore('k2')) as { argv: Buffer[] }).argv[3].toString()).toBe('2');
  });
  test('holds the commit back to the first chunk of an open key', () => {
    const a = new RestoreAssembler(1 << 20);
    expect(a.holdBack(1)).toBeUndefined();
    a.addChunk(1, 20n, b('k'), b('x'));
    a.addChunk(1, 21n, b('k'), b('y'));
    expect(a.holdBack(1)).toBe(20n);
    expect(a.holdBack(2)).toBeUndefined();
    a.complete(1, restore('k'));
    expect(a.holdBack(1)).toBeUndefined();
  });
  test('a key over maxBytes frees its chunks and completes as overflow', () => {
    const a = new RestoreAssembler(4);
    expect(a.addChunk(1, 1n, b('k'), b('abc'))).toBe(false);
    expect(a.addChunk(1, 2n, b('k'), b('def'))).toBe(true);
    expect(a.addChunk(1, 3n, b('k'), b('ghi'))).toBe(false);
    expect(a.heldBytes).toBe(0);
    expect(a.complete(1, restore('k'))).toEqual({ status: 'overflow', bytes: 9, firstOffset: 1n, lastOffset: 3n });
  });
  test('a payload-last without chunks is reported', () => {
    expect(new RestoreAssembler(10).complete(1, restore('k'))).toEqual({ status: 'missing-chunks' });
  });
  test('revoked partitions drop their open keys', () => {
    const a = new RestoreAssembler(100);
    a.addChunk(1, 1n, b('k'), b('x'));
    a.addChunk(2, 1n, b('k'), b('x'));
    expect(a.retainPartitions((p) => p === 2)).toBe(1);
    expect(a.holdBack(1)).toBeUndefined();
    expect(a.holdBack(2)).toBe(1n);
  });
  test('chunks are copied, so the Kafka batch buffer can be freed', () => {
    const a = new RestoreAssembler(100);
    const chunk = b('abc');
    a.addChunk(1, 1n, b('k'), chunk);
    chunk.write('zzz');
    expect((a.complete(1, restore('k')) as { argv: Buffer[] }).argv[3].toString()).toBe('abc');
  });
});
