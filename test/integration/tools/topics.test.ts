import { spawnSync } from 'node:child_process';
import { Kafka, logLevel } from 'kafkajs';
import { testEndpoints } from '../../harness/endpoints';
import { CLI } from '../../harness/source-process';

/**
 * `tandem topics init`: creates the four topics of a DC with the right
 * partitions and configs, is idempotent, and refuses to change the partition
 * count of an existing changes topic, with an explanation.
 */
function tandem(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe('tandem topics init', () => {
  const dc = `tp${Date.now().toString(36)}`;
  const brokers = () => testEndpoints().kafkaBrokers.join(',');

  test('creates changes (P partitions, retention), checkpoints (compacted), dlq and conflicts (retention); a second run changes nothing', async () => {
    const first = tandem('topics', 'init', '--dc', dc, '--partitions', '12', '--retention', '2d', '--brokers', brokers(), '--json');
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(JSON.parse(first.stdout)).toEqual([
      { topic: `tandem.${dc}.changes`, action: 'created', partitions: 12 },
      { topic: `tandem.${dc}.checkpoints`, action: 'created', partitions: 1 },
      { topic: `tandem.${dc}.dlq`, action: 'created', partitions: 1 },
      { topic: `tandem.${dc}.conflicts`, action: 'created', partitions: 1 },
    ]);
    const again = tandem('topics', 'init', '--dc', dc, '--partitions', '12', '--brokers', brokers(), '--json');
    expect(again.status).toBe(0);
    expect(JSON.parse(again.stdout).map((o: { action: string }) => o.action)).toEqual(['exists', 'exists', 'exists', 'exists']);

    // What the broker says about them.
    const admin = new Kafka({ clientId: 'topics-test', brokers: testEndpoints().kafkaBrokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: [`tandem.${dc}.changes`] });
      expect(meta.topics[0].partitions).toHaveLength(12);
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          { type: 2, name: `tandem.${dc}.changes`, configNames: ['retention.ms', 'cleanup.policy'] },
          { type: 2, name: `tandem.${dc}.checkpoints`, configNames: ['cleanup.policy'] },
          { type: 2, name: `tandem.${dc}.conflicts`, configNames: ['retention.ms', 'cleanup.policy'] },
        ],
      });
      const value = (topic: string, name: string) =>
        configs.resources.find((r) => r.resourceName === topic)?.configEntries.find((e) => e.configName === name)?.configValue;
      expect(value(`tandem.${dc}.changes`, 'retention.ms')).toBe(String(2 * 24 * 3600 * 1000));
      expect(value(`tandem.${dc}.changes`, 'cleanup.policy')).toBe('delete');
      expect(value(`tandem.${dc}.checkpoints`, 'cleanup.policy')).toBe('compact');
      expect(value(`tandem.${dc}.conflicts`, 'retention.ms')).toBe(String(2 * 24 * 3600 * 1000));
      expect(value(`tandem.${dc}.conflicts`, 'cleanup.policy')).toBe('delete');
    } finally {
      await admin.disconnect();
    }
  });

  test('refuses another partition count for an existing changes topic, explaining why (exit 1, one line)', () => {
    const res = tandem('topics', 'init', '--dc', dc, '--partitions', '24', '--brokers', brokers());
    expect(res.status).toBe(1);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`tandem.${dc}.changes exists with 12 partitions, not 24`);
    expect(lines[0]).toContain('split');
  });

  test('bad option values exit 2 with one line; an unreachable broker exits 1 with one line', () => {
    const bad = tandem('topics', 'init', '--dc', 'Bad DC', '--brokers', brokers());
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--dc <dc>.*invalid/);
    const down = tandem('topics', 'init', '--dc', dc, '--brokers', '127.0.0.1:1');
    expect(down.status).toBe(1);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    expect(down.stderr).not.toMatch(/\n\s+at /);
  });
});
