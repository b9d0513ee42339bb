/** The RDB parser's public API. */
export { RdbParser, DEFAULT_MAX_INLINE_PAYLOAD_BYTES, DEFAULT_MAX_STRING_BYTES, type RdbParserOptions } from './parser';
export { parseRdb } from './parse-rdb';
export type * from './events';
export { decodePayload, decodeValue, type DecodedPayload } from './decode';
export type * from './value';
export { toInspectValue } from './inspect-value';
export { inspectRdb, type InspectOptions, type InspectSummary } from './inspect';
export { registerRdbCommand } from './inspect-command';
export { crc64, Crc64 } from './crc64';
export { formatScore } from './format-double';
export * from './opcodes';
