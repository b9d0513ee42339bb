import { DLQ_HEADERS, buildDlqMessage } from '../../../services/sink/kafka/dlq';

describe('DLQ record building', () => {
  const record = {
    topic: 'tandem.a.changes', partition: 5, offset: '1234', key: Buffer.from('k'),
    value: Buffer.from([0x54, 0x01, 0xff, 0x00]),
    headers: { origin: Buffer.from('a'), kind: Buffer.from('command'), dup: [Buffer.from('x'), Buffer.from('y')] },
  };
  test('keeps the original bytes as the value and adds the error and the source coordinates', () => {
    const m = buildDlqMessage({ record, reason: 'rejected', error: 'RPUSH: WRONGTYPE Operation against a key holding the wrong kind of value', origin: 'a' }, 'b', 1700000000000);
    expect(m.value).toBe(record.value);
    expect(m.key).toBe(record.key);
    expect(m.headers).toMatchObject({
      [DLQ_HEADERS.reason]: 'rejected',
      [DLQ_HEADERS.error]: expect.stringContaining('WRONGTYPE'),
      [DLQ_HEADERS.topic]: 'tandem.a.changes',
      [DLQ_HEADERS.partition]: '5',
      [DLQ_HEADERS.offset]: '1234',
      [DLQ_HEADERS.origin]: 'a',
      [DLQ_HEADERS.sinkDc]: 'b',
      [DLQ_HEADERS.at]: '1700000000000',
      origin: Buffer.from('a'),
      kind: Buffer.from('command'),
      dup: Buffer.from('x'),
    });
  });
  test('an undecodable record has no origin header of its own and a long error is cut', () => {
    const m = buildDlqMessage({ record: { ...record, headers: undefined }, reason: 'decode', error: 'e'.repeat(10_000) }, 'b');
    expect(m.headers?.[DLQ_HEADERS.origin]).toBeUndefined();
    expect(String(m.headers?.[DLQ_HEADERS.error]).length).toBeLessThan(4100);
  });
  test('extra headers (chunk offsets of a too-large key) are kept', () => {
    const m = buildDlqMessage({ record, reason: 'restore-too-large', error: 'too big', extraHeaders: { 'tandem-chunk-offsets': '10-20' } }, 'b');
    expect(m.headers?.['tandem-chunk-offsets']).toBe('10-20');
  });
});
