import { readFileSync } from 'node:fs';

/**
 * Whether the installed kafkajs carries Tandem's patch
 * (patches/kafkajs+2.2.4.patch, applied by `npm install`'s postinstall,
 * scripts/apply-patches.js): the transactional producer keeps its transaction
 * coordinator, a CONCURRENT_TRANSACTIONS retry refreshes no metadata, and the
 * encoder writes varints in place. Without it (an install with
 * --ignore-scripts) everything works, but every source transaction costs about
 * three more requests to the broker and every record more garbage
 * (BENCHMARKS.md); the source logs a warning at start.
 */
export function kafkajsPatched(): boolean {
  try {
    const eos = readFileSync(require.resolve('kafkajs/src/producer/eosManager/index.js'), 'utf8');
    const send = readFileSync(require.resolve('kafkajs/src/producer/sendMessages.js'), 'utf8');
    const encoder = readFileSync(require.resolve('kafkajs/src/protocol/encoder.js'), 'utf8');
    return eos.includes('withTransactionCoordinator') && send.includes("e.type === 'CONCURRENT_TRANSACTIONS'") && encoder.includes('varints are written in place');
  } catch {
    return false;
  }
}
