import { readRecordHeaders } from '../../../services/shared/change-record';
import { filterEvent, filterRecord, topicDcOf } from '../../../services/sink/filter';

const ctx = { localDc: 'b', topicDc: 'a' };

describe('sink origin filter (sink of b reading tandem.a.changes)', () => {
  test('decodes a record that holds an event made in the topic\'s DC', () => {
    expect(filterRecord({ origins: ['a'], kinds: ['command'] }, ctx)).toEqual({ action: 'decode' });
    expect(filterRecord({ origins: ['b', 'a'], kinds: ['marker', 'transaction', 'command'] }, ctx)).toEqual({ action: 'decode' });
  });
  test('drops a record of own-origin events whole: they came back from a', () => {
    expect(filterRecord({ origins: ['b'], kinds: ['marker', 'transaction'] }, ctx)).toEqual({ action: 'drop', reason: 'own-origin' });
  });
  test('drops a record of a third DC\'s events whole: its own sink delivers them (mesh)', () => {
    expect(filterRecord({ origins: ['c'], kinds: ['command'] }, ctx)).toEqual({ action: 'drop', reason: 'other-origin' });
  });
  test('decodes a record mixing own and third-DC origins, so each drop is counted under its reason', () => {
    expect(filterRecord({ origins: ['b', 'c'] }, ctx)).toEqual({ action: 'decode' });
  });
  test('drops a record of markers only, whatever their origin', () => {
    expect(filterRecord({ origins: ['a'], kinds: ['marker'] }, ctx)).toEqual({ action: 'drop', reason: 'marker' });
    expect(filterRecord({ kinds: ['marker'] }, ctx)).toEqual({ action: 'drop', reason: 'marker' });
  });
  test('v1 headers (one event: origin, kind) read as a record summary', () => {
    const v1 = readRecordHeaders({ origin: Buffer.from('b'), kind: Buffer.from('command'), source: Buffer.from('a'), 'schema-version': Buffer.from('1') });
    expect(v1).toEqual({ formatVersion: 1, count: 1, origins: ['b'], kinds: ['command'], source: 'a' });
    expect(filterRecord(v1, ctx)).toEqual({ action: 'drop', reason: 'own-origin' });
  });
  test('asks to decode when the headers do not say enough', () => {
    expect(filterRecord({}, ctx)).toEqual({ action: 'decode' });
    expect(filterRecord({ kinds: ['command'] }, ctx)).toEqual({ action: 'decode' });
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
