import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SINK_ACL, SOURCE_ACL } from '../../harness/secure-stack';

/**
 * The ACL lines docs/security.md gives operators are the ones the security
 * integration test runs (test/harness/secure-stack.ts): a rule added to one
 * and not the other fails here.
 */
const doc = readFileSync(join(__dirname, '../../../docs/security.md'), 'utf8');

function documentedRules(user: string): string[] {
  const line = doc.split('\n').find((l) => l.startsWith(`ACL SETUSER ${user} `));
  if (!line) throw new Error(`docs/security.md has no "ACL SETUSER ${user}" line`);
  // ACL SETUSER <user> on >PASSWORD <rules…>
  const [, , , on, password, ...rules] = line.trim().split(/\s+/);
  expect(on).toBe('on');
  expect(password).toBe('>PASSWORD');
  return rules;
}

describe('docs/security.md ACL lines', () => {
  test('the source line is the tested one', () => {
    expect(documentedRules('tandem-source')).toEqual(SOURCE_ACL);
  });

  test('the sink line is the tested one', () => {
    expect(documentedRules('tandem-sink')).toEqual(SINK_ACL);
  });

  test('docs/source.md gives the same source line', () => {
    const source = readFileSync(join(__dirname, '../../../docs/source.md'), 'utf8');
    const line = source.split('\n').find((l) => l.startsWith('ACL SETUSER tandem-source '));
    expect(line?.trim().split(/\s+/).slice(5)).toEqual(SOURCE_ACL);
  });
});
