import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { sinkMetrics } from '../../../services/sink/metrics';
import { sourceMetrics } from '../../../services/source/metrics';

/** docs/metrics.md is the catalogue operators read: it must name exactly the metrics the services register. */
describe('docs/metrics.md', () => {
  const doc = readFileSync(join(__dirname, '../../../docs/metrics.md'), 'utf8');
  const documented = new Map(
    [...doc.matchAll(/^\| `(tandem_[a-z_]+)` \|\s*(\w+)\s*\|([^|]*)\|/gm)].map((m) => [m[1], { type: m[2], labels: m[3].replace(/`/g, '').split(',').map((l) => l.trim()).filter(Boolean) }]),
  );
  const registry = new Registry();
  sourceMetrics(registry);
  sinkMetrics(registry);
  const registered = registry.getMetricsAsArray().map((m) => {
    const raw = m as unknown as { name: string; type?: string; labelNames?: string[] };
    return { name: raw.name, type: String(raw.type), labels: raw.labelNames ?? [] };
  });

  test('every registered metric is documented with its type and labels', () => {
    const wrong = registered.filter((m) => {
      const d = documented.get(m.name);
      return !d || d.type !== m.type || d.labels.join(',') !== m.labels.join(',');
    });
    expect(wrong).toEqual([]);
  });

  test('every documented metric exists', () => {
    const names = new Set(registered.map((m) => m.name));
    expect([...documented.keys()].filter((n) => !names.has(n))).toEqual([]);
  });
});
