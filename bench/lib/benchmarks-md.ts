import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../services/shared/paths';

export const BENCHMARKS_MD = join(packageRoot(), 'BENCHMARKS.md');

/**
 * Replaces the `## <heading>` section of BENCHMARKS.md (up to the next `## `
 * heading), or appends it. The file is re-read right before the write, so a
 * benchmark only ever changes its own section, even when other sections are
 * being edited meanwhile.
 */
export function updateBenchmarksSection(heading: string, body: string, file = BENCHMARKS_MD): void {
  const section = `## ${heading}\n\n${body.trim()}\n`;
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  let next: string;
  if (start < 0) {
    next = `${text.replace(/\n*$/, '')}\n\n${section}`;
  } else {
    let end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
    if (end < 0) end = lines.length;
    const after = lines.slice(end).join('\n');
    next = `${lines.slice(0, start).join('\n').replace(/\n*$/, '')}\n\n${section}${after ? `\n${after}` : ''}`;
  }
  writeFileSync(file, next.replace(/\n*$/, '\n'));
}
