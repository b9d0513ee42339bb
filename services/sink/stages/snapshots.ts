import { EVENT_FLAGS } from '../../shared/change-event';
import type { Stage, StageEntry } from './stage';

/**
 * Snapshot events (a peer's full resync): `sink.snapshotPolicy` (skip,
 * if-absent, overwrite) and big keys, whose RESTORE payload arrives in
 * payload-chunk events and a payload-last RESTORE (apply/restore-assembler.ts).
 */
export const snapshots: Stage = (item, ctx) => {
  const e = item.event;
  if (e.kind !== 'snapshot') return undefined;
  const { sink, assembler } = ctx;
  if (sink.snapshotPolicy === 'skip') return { drop: 'snapshot-skip' };
  if (e.flags.includes(EVENT_FLAGS.payloadChunk)) {
    const [key, bytes] = e.commands[0] ?? [];
    if (key === undefined || bytes === undefined || assembler === undefined) return { dlq: 'invalid-event', error: 'payload-chunk event without [key, bytes]' };
    if (assembler.addChunk(ctx.partition, item, e)) {
      ctx.log.warn({ key: key.toString('latin1').slice(0, 200), maxRestoreBytes: assembler.maxBytes }, 'big key exceeds sink.maxRestoreBytes; it will go to the DLQ');
    }
    return { held: true };
  }
  let argv = e.commands[0];
  if (e.flags.includes(EVENT_FLAGS.payloadLast)) {
    if (assembler === undefined || argv === undefined || argv.length < 4) return { dlq: 'invalid-event', error: 'payload-last event without a RESTORE command' };
    const c = assembler.complete(ctx.partition, item, e);
    if (c.status === 'missing-chunks') return { dlq: 'restore-missing-chunks', error: 'payload-last RESTORE without its payload-chunk events' };
    if (c.status === 'overflow') {
      return {
        dlq: 'restore-too-large',
        error: `assembled RESTORE payload of ${c.bytes} bytes exceeds sink.maxRestoreBytes (${assembler.maxBytes})`,
        headers: { 'tandem-chunk-offsets': `${c.firstOffset}-${c.lastOffset}` },
      };
    }
    argv = c.argv;
  }
  const isRestore = argv !== undefined && argv[0].toString('latin1').toLowerCase() === 'restore';
  if (sink.snapshotPolicy === 'if-absent' && isRestore) {
    // Without REPLACE, RESTORE answers BUSYKEY for an existing key: counted, not an error.
    const stripped = argv.filter((a, i) => i < 4 || a.toString('latin1').toLowerCase() !== 'replace');
    return { apply: { ...item, commands: [stripped], tolerateBusyKey: true } };
  }
  return { apply: argv === e.commands[0] ? item : { ...item, commands: [argv] } };
};

export const stage: StageEntry = { name: 'snapshots', order: 50, run: snapshots };
