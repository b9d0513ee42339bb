import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFolder } from '../../../services/shared/folder-registry';

/** Real folders of real modules, written for each test: what `loadFolder` reads at start. */
describe('loadFolder', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tandem-folder-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, body: string) => writeFileSync(join(dir, name), body);

  test('loads the export of every module but the skipped ones, in file name order, arrays flattened', () => {
    write('b.js', "exports.entry = 'b';");
    write('a.js', "exports.entry = ['a1', 'a2'];");
    write('index.js', "exports.entry = 'index';");
    write('a.d.ts', 'export declare const entry: string;');
    write('notes.md', 'not a module');
    expect(loadFolder<string>(dir, 'entry', ['index'])).toEqual(['a1', 'a2', 'b']);
  });

  test('a module of the folder without the export is an error naming the file', () => {
    write('a.js', "exports.entry = 'a';");
    write('helper.js', 'exports.other = 1;');
    expect(() => loadFolder(dir, 'entry', [])).toThrow(/helper\.js exports no entry/);
  });
});
