import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The package root: the nearest folder above this file holding package.json and
 * schemas/. It is the same whether the code runs from services/*.ts (ts-jest)
 * or from dist/services/*.js (the built CLI), so files shipped beside the code
 * (schemas/, deploy/local/pom.xml) are found in both cases.
 */
let root: string | undefined;

export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = __dirname;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'schemas'))) {
      root = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the tandem package root above ${__dirname}`);
    dir = parent;
  }
}
