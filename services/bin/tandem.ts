#!/usr/bin/env node
import { main } from '../cli';
import { registerSinkCommand } from '../sink/main';
import { registerSourceCommand } from '../source/main';

/**
 * The `tandem` executable: the CLI's commands plus the two connectors,
 * `tandem source` and `tandem sink`. It is the one module that wires source,
 * sink and CLI together; the sink and the CLI never import the source
 * (eslint.config.mjs), they share the event format through services/shared.
 */
main(process.argv, [registerSourceCommand, registerSinkCommand]).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`tandem: unexpected failure: ${String(err)}\n`);
    process.exit(1);
  },
);
