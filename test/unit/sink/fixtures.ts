import type { ChangeEvent } from '../../../services/shared/change-event';
import type { ApplyItem } from '../../../services/sink/apply/apply-item';

/** A keyed event of `slot` at address (partition, offset, index), with its commands as text. */
export function item(slot: number, offset: number, commands: string[][] = [['INCR', 'k']], partition = 3, index = 0): ApplyItem {
  const event: ChangeEvent = {
    origin: 'a', source: 'a', kind: commands.length > 1 ? 'transaction' : 'command', slot, db: 0,
    commands: commands.map((argv) => argv.map((s) => Buffer.from(s))),
    replId: 'r'.repeat(40), replOffset: offset, nodeId: 'n', capturedAt: 0, seq: 0, flags: [], dedupeKey: null,
  };
  return {
    record: { topic: 'tandem.a.changes', partition, offset: String(offset), key: null, value: Buffer.from('x'), headers: {} },
    offset: BigInt(offset),
    index,
    event,
    commands: event.commands,
  };
}
