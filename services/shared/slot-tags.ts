import { SLOT_COUNT, crc16 } from './slot';

/**
 * For each of the 16384 slots, a short string (1 to 3 characters of
 * [0-9a-zA-Z]) whose CRC16 maps to that slot. The sink puts it in a hash tag,
 * `__tandem:{<tag>}:o:<origin>`, so that the anti-loop marker lives in the
 * event's slot and is propagated in the same MULTI as the event.
 *
 * 62 + 62² + 62³ = 242,206 candidates cover all 16384 slots; the table is built
 * once, lazily, in a few milliseconds, and the shortest tag wins for each slot.
 */
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

let table: string[] | undefined;

function buildTable(): string[] {
  const tags: (string | undefined)[] = new Array(SLOT_COUNT);
  let missing = SLOT_COUNT;
  const buf = Buffer.alloc(3);
  const codes = Buffer.from(ALPHABET, 'ascii');
  const visit = (len: number): void => {
    const n = codes.length;
    const total = n ** len;
    for (let i = 0; i < total && missing > 0; i++) {
      let rest = i;
      for (let p = len - 1; p >= 0; p--) {
        buf[p] = codes[rest % n];
        rest = Math.floor(rest / n);
      }
      const slot = crc16(buf, 0, len) & (SLOT_COUNT - 1);
      if (tags[slot] === undefined) {
        tags[slot] = buf.toString('ascii', 0, len);
        missing--;
      }
    }
  };
  for (let len = 1; len <= 3 && missing > 0; len++) visit(len);
  if (missing > 0) throw new Error(`slot tag table incomplete: ${missing} slots have no tag of up to 3 characters`);
  return tags as string[];
}

export function slotTag(slot: number): string {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOT_COUNT) throw new RangeError(`slot out of range: ${slot}`);
  table ??= buildTable();
  return table[slot];
}

export function slotTagTable(): readonly string[] {
  table ??= buildTable();
  return table;
}
