import { filterEvent, filterHeaders, topicDcOf } from '../../../services/sink/filter';

const ctx = { localDc: 'b', topicDc: 'a' };

describe('sink origin filter (sink of b reading tandem.a.changes)', () => {
  test('keeps events made in the topic\'s DC', () => {
    expect(filterHeaders({ origin: 'a', kind: 'command' }, ctx)).toEqual({ action: 'keep' });
    expect(filterHeaders({ origin: 'a', kind: 'transaction' }, ctx)).toEqual({ action: 'keep' });
  });
  test('drops own-origin events: they came back from a', () => {
    expect(filterHeaders({ origin: 'b', kind: 'command' }, ctx)).toEqual({ action: 'drop', reason: 'own-origin' });
  });
  test('drops events of a third DC: its own sink delivers them (mesh)', () => {
    expect(filterHeaders({ origin: 'c', kind: 'command' }, ctx)).toEqual({ action: 'drop', reason: 'other-origin' });
  });
  test('drops every marker, whatever its origin', () => {
    for (const origin of ['a', 'b', 'c']) expect(filterHeaders({ origin, kind: 'marker' }, ctx)).toEqual({ action: 'drop', reason: 'marker' });
    expect(filterHeaders({ kind: 'marker' }, ctx)).toEqual({ action: 'drop', reason: 'marker' });
  });
  test('a foreign origin is dropped on the header alone, even without kind', () => {
    expect(filterHeaders({ origin: 'b' }, ctx)).toEqual({ action: 'drop', reason: 'own-origin' });
  });
  test('asks to decode when the headers do not say enough', () => {
    expect(filterHeaders({}, ctx)).toEqual({ action: 'decode' });
    expect(filterHeaders({ kind: 'command' }, ctx)).toEqual({ action: 'decode' });
    expect(filterHeaders({ origin: 'a' }, ctx)).toEqual({ action: 'decode' });
  });
  test('the same rule on decoded events', () => {
    expect(filterEvent({ origin: 'a', kind: 'snapshot' }, ctx)).toEqual({ action: 'keep' });
    expect(filterEvent({ origin: 'a', kind: 'marker' }, ctx)).toEqual({ action: 'drop', reason: 'marker' });
    expect(filterEvent({ origin: 'b', kind: 'control' }, ctx)).toEqual({ action: 'drop', reason: 'own-origin' });
  });
  test('topicDcOf reads tandem.<dc>.changes only', () => {
    expect(topicDcOf('tandem.a.changes')).toBe('a');
    expect(topicDcOf('tandem.eu-west-1.changes')).toBe('eu-west-1');
    expect(topicDcOf('tandem.a.dlq')).toBeUndefined();
  });
});
