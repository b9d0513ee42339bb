import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { TandemError } from './errors';

/**
 * A registry that is a folder: every module in `dir` (but the ones named in
 * `skip`, such as the folder's index and its interface file) exports one
 * entry, or an array of entries, under `exportName`, and this loads them all.
 * Adding a Redis type, a sink stage or a replay target is then adding its
 * file (docs/design.md "Where things go"), with nothing else to edit and no
 * list to forget.
 *
 * Files are loaded in name order; a registry that needs another order sorts
 * by a field of its entries. A module without the export is an error, not a
 * silent gap: a registry folder holds entries only. Both layouts work: the
 * compiled one (`.js`, the `tandem` binary) and the sources (`.ts`, jest).
 * `npm run build` empties dist/ first, so a file removed from the sources
 * never lives on as a stale `.js` here.
 */
export function loadFolder<T>(dir: string, exportName: string, skip: readonly string[]): T[] {
  const files = readdirSync(dir)
    .filter((f) => /\.(js|ts)$/.test(f) && !f.endsWith('.d.ts') && !skip.includes(moduleName(f)))
    .sort();
  const entries: T[] = [];
  for (const file of files) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the folder's file list is only known at run time
    const mod = require(join(dir, file)) as Record<string, unknown>;
    const entry = mod[exportName];
    if (entry === undefined) throw new TandemError('INTERNAL', `${join(dir, file)} exports no ${exportName}: every module of this folder registers one (see its index)`);
    entries.push(...((Array.isArray(entry) ? entry : [entry]) as T[]));
  }
  return entries;
}

function moduleName(file: string): string {
  return basename(file).replace(/\.(js|ts)$/, '');
}
