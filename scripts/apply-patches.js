#!/usr/bin/env node
/**
 * postinstall: applies patches/ (patch-package) to the copy of each patched
 * package that Tandem itself loads. patch-package patches
 * `<cwd>/node_modules/<package>`; in a checkout that is this folder, but when
 * Tandem is installed as a dependency (`npm install tandem-<version>.tgz`)
 * npm hoists kafkajs to the app's node_modules, and patch-package run here
 * would not find it. So it runs in the folder whose node_modules holds the
 * kafkajs that `require` resolves from here, with the patch folder given
 * relative to it. A patch that does not apply fails the install.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const { dirname, join, relative } = require('node:path');

const kafkajs = dirname(require.resolve('kafkajs/package.json'));
const root = dirname(dirname(kafkajs)); // <root>/node_modules/kafkajs
const patchDir = relative(root, join(__dirname, '..', 'patches')) || '.';
const cli = require.resolve('patch-package/dist/index.js');
const r = spawnSync(process.execPath, [cli, '--patch-dir', patchDir, '--error-on-fail'], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
