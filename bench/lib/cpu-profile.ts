import { readFileSync } from 'node:fs';

/** The subset of a V8 .cpuprofile (node --cpu-prof) this summary reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Top functions by self time, as "12.3% name file:line" lines. */
export function topSelfTime(file: string, top = 25): string[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    const cf = byId.get(id)?.callFrame;
    if (!cf) return;
    const where = cf.url === '' ? '' : ` ${cf.url.split('/').slice(-3).join('/')}:${cf.lineNumber + 1}`;
    const name = `${cf.functionName === '' ? '(anonymous)' : cf.functionName}${where}`;
    self.set(name, (self.get(name) ?? 0) + dt);
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, t]) => `${((100 * t) / Math.max(total, 1)).toFixed(1).padStart(5)}% ${name}`);
}
