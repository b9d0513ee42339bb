import { TandemError } from '../shared/errors';

/**
 * Error constructors for the RDB parser. Every message names the absolute byte
 * offset in the RDB stream (or payload) so an SRE can `xxd -s` straight to it.
 */

export function hex(byte: number): string {
  return `0x${byte.toString(16).toUpperCase().padStart(2, '0')}`;
}

export function rdbCorrupt(offset: number, what: string): TandemError {
  return new TandemError('RDB_CORRUPT', `RDB corrupt at byte ${offset}: ${what}`);
}

export function rdbTruncated(offset: number, what: string): TandemError {
  return new TandemError('RDB_CORRUPT', `RDB truncated at byte ${offset} while reading ${what}`);
}

export function rdbUnsupported(offset: number, what: string): TandemError {
  return new TandemError('RDB_UNSUPPORTED', `RDB unsupported at byte ${offset}: ${what}`);
}
