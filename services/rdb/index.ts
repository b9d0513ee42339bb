/**
 * The RDB parser's public API: the only path other folders import from
 * (eslint.config.mjs enforces it). Parsers take bytes and return values; they
 * never touch sockets or Kafka (docs/rdb.md).
 */
export { RdbParser, DEFAULT_MAX_INLINE_PAYLOAD_BYTES, DEFAULT_MAX_STRING_BYTES, type RdbParserOptions } from './parser';
export { parseRdb } from './parse-rdb';
export type * from './events';
export { decodePayload, decodeValue, type DecodedPayload } from './decode';
export { toInspectValue } from './inspect-value';
export { inspectRdb, type InspectOptions, type InspectSummary } from './inspect';
export { crc64, Crc64 } from './crc64';
export { formatScore } from './format-double';
export * from './opcodes';
export type { RedisTypeCodec } from './type-codec';
export { REDIS_TYPE_CODECS, codecOfRdbType, codecOfValue, redisTypeOf, type RdbValue, type RedisType } from './types';
