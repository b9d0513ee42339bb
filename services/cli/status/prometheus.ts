import { TandemError, errorMessage } from '../../shared/errors';

/**
 * Reads a service's /metrics (Prometheus text exposition format 0.0.4):
 *
 *   sample  = name [ "{" label "=" quoted-value { "," label "=" quoted-value } "}" ] SP value [ SP timestamp ]
 *   comment = "#" …
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue; // not a sample line (the format allows none other; tolerate blank noise)
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/** `http://host:port` or a full URL; `/metrics` is added when no path is given. */
export function metricsUrl(url: string): string {
  const u = new URL(/^https?:\/\//.test(url) ? url : `http://${url}`);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/metrics';
  return u.toString();
}

export async function scrape(url: string, timeoutMs = 5000): Promise<Sample[]> {
  const target = metricsUrl(url);
  let res: Response;
  try {
    res = await fetch(target, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    throw new TandemError('INTERNAL', `cannot read ${target}: ${errorMessage(cause ?? err)}`, { cause: err });
  }
  if (!res.ok) throw new TandemError('INTERNAL', `cannot read ${target}: HTTP ${res.status}`);
  return parseMetrics(await res.text());
}
