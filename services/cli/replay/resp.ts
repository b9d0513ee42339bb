/**
 * RESP2 encoding of commands, the input `redis-cli --pipe` reads: each
 * command an array of bulk strings, arguments as raw bytes.
 *
 *   *<argc>\r\n  then per argument  $<len>\r\n<bytes>\r\n
 */
const CRLF = Buffer.from('\r\n');

export function encodeCommand(argv: readonly (Buffer | string)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${argv.length}\r\n`)];
  for (const a of argv) {
    const b = typeof a === 'string' ? Buffer.from(a, 'utf8') : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, CRLF);
  }
  return Buffer.concat(parts);
}
