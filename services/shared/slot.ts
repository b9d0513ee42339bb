/**
 * Redis Cluster key slot: CRC16-XMODEM (poly 0x1021, init 0) of the key, or of
 * its hash tag, mod 16384. The hash tag is the text between the first `{` and
 * the first `}` after it, when that text is non-empty (redis/src/cluster.c
 * keyHashSlot). Keys are bytes: a Buffer is hashed as is, a string as UTF-8.
 */
export const SLOT_COUNT = 16384;

const CRC16_TABLE: Uint16Array = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
    table[i] = crc;
  }
  return table;
})();

export function crc16(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc = ((crc << 8) & 0xffff) ^ CRC16_TABLE[((crc >> 8) ^ buf[i]) & 0xff];
  }
  return crc;
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

export function keySlot(key: Buffer | string): number {
  const buf = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  const open = buf.indexOf(OPEN_BRACE);
  if (open !== -1) {
    const close = buf.indexOf(CLOSE_BRACE, open + 1);
    // "{}" (empty tag) hashes the whole key, as Redis does.
    if (close > open + 1) return crc16(buf, open + 1, close) & (SLOT_COUNT - 1);
  }
  return crc16(buf) & (SLOT_COUNT - 1);
}

/** Kafka partition of a slot: floor(slot × P / 16384), so a slot never spans two partitions. */
export function slotPartition(slot: number, partitions: number): number {
  return Math.floor((slot * partitions) / SLOT_COUNT);
}
