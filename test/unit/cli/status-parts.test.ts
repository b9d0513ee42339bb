import { linkRows } from '../../../services/cli/status/links';
import { peersFromTopics } from '../../../services/cli/status/partitions';
import { metricsUrl, parseMetrics } from '../../../services/cli/status/prometheus';
import { renderStatus, table } from '../../../services/cli/status/render';
import type { CheckpointRecord } from '../../../services/shared/checkpoint';

describe('peersFromTopics', () => {
  it('finds every other DC with a changes topic', () => {
    expect(peersFromTopics(['tandem.b.changes', 'tandem.a.changes', 'tandem.a.checkpoints', 'tandem.c-2.changes', '__consumer_offsets'], 'a')).toEqual(['b', 'c-2']);
  });
});

describe('parseMetrics', () => {
  it('reads names, labels and values, skipping comments', () => {
    const text = [
      '# HELP tandem_source_repl_offset x',
      '# TYPE tandem_source_repl_offset gauge',
      'tandem_source_repl_offset{link="127.0.0.1:7000"} 1234',
      'tandem_source_link_state{link="127.0.0.1:7000",state="streaming"} 1',
      'tandem_sink_apply_latency_seconds_sum 0.5',
      'weird{l="a\\"b"} 2',
    ].join('\n');
    expect(parseMetrics(text)).toEqual([
      { name: 'tandem_source_repl_offset', labels: { link: '127.0.0.1:7000' }, value: 1234 },
      { name: 'tandem_source_link_state', labels: { link: '127.0.0.1:7000', state: 'streaming' }, value: 1 },
      { name: 'tandem_sink_apply_latency_seconds_sum', labels: {}, value: 0.5 },
      { name: 'weird', labels: { l: 'a"b' }, value: 2 },
    ]);
  });

  it('adds /metrics to a bare address', () => {
    expect(metricsUrl('127.0.0.1:9464')).toBe('http://127.0.0.1:9464/metrics');
    expect(metricsUrl('https://h/custom')).toBe('https://h/custom');
  });
});

const cp = (replid: string, offset: number, address: string, extra: Partial<CheckpointRecord> = {}): CheckpointRecord => ({
  replid, offset, address, db: 0, nodeId: 'n', partitions: 16, dc: 'a', updatedAt: 1000, ...extra,
});
const info = (replid: string, offset: number, replid2 = '0'.repeat(40), second = -1) =>
  `# Replication\r\nrole:master\r\nmaster_replid:${replid}\r\nmaster_replid2:${replid2}\r\nmaster_repl_offset:${offset}\r\nsecond_repl_offset:${second}\r\n`;

describe('linkRows', () => {
  it('computes the byte gap of each master from its checkpoint, by replid or replid2', () => {
    const checkpoints = new Map([
      ['r1', cp('r1', 100, 'h:1', { lastFullResync: { at: 5, reason: 'no-checkpoint', replid: 'r1' } })],
      ['r2', cp('r2', 50, 'h:2')],
      ['old', cp('old', 10, 'h:9')],
    ]);
    const rows = linkRows(checkpoints, [{ address: 'h:1', info: info('r1', 150) }, { address: 'h:3', info: info('r3', 80, 'r2', 70) }, { address: 'h:4', info: info('r4', 5) }], [
      { name: 'tandem_source_link_state', labels: { link: 'h:1', state: 'streaming' }, value: 1 },
      { name: 'tandem_source_link_state', labels: { link: 'h:1', state: 'closed' }, value: 0 },
      { name: 'tandem_source_repl_offset', labels: { link: 'h:1' }, value: 149 },
    ]);
    const by = (a: string) => rows.find((r) => r.address === a)!;
    expect(by('h:1')).toMatchObject({ replid: 'r1', offset: 100, master: { masterReplOffset: 150, gap: 50 }, live: { state: 'streaming', offset: 149 }, lastFullResync: { reason: 'no-checkpoint' } });
    expect(by('h:2')).toMatchObject({ replid: 'r2', master: { address: 'h:3', gap: 30 } }); // failed over: continues by replid2
    expect(by('h:4')).toMatchObject({ master: { masterReplOffset: 5 } });
    expect(by('h:4').replid).toBeUndefined();
    expect(by('h:9').stale).toBe(true);
    expect(rows[rows.length - 1].address).toBe('h:9');
    const text = renderStatus({ dc: 'a', group: 'g', peers: ['b'], links: rows, partitions: [], sinks: [], totalLag: 0 }, 2000);
    expect(text).toMatch(/h:1\s+streaming\s+r1\s+100\s+150\s+50/);
    expect(text).toMatch(/h:9\s+stale/);
  });
});

describe('table', () => {
  it('aligns columns, numbers to the right', () => {
    expect(table(['name', 'lag'], [['a', '5'], ['bbb', '123']])).toEqual(['name  lag', 'a       5', 'bbb   123']);
  });
});
