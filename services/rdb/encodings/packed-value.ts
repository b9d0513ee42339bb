/**
 * An element of a listpack, ziplist or intset: Redis stores integers that fit
 * 64 bits as integers. `bigint` only when the value is outside the safe JS range.
 */
export type PackedValue = Buffer | number | bigint;

/** The element as the string Redis would reply with (integers in decimal). */
export function packedToBuffer(v: PackedValue): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.toString());
}

export function packedToNumber(v: PackedValue): number {
  return Buffer.isBuffer(v) ? Number(v.toString('latin1')) : Number(v);
}

/** Narrows a 64-bit integer to a number when exact. */
export function fromBigInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}
