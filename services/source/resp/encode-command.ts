/**
 * Encodes a command as canonical RESP2 multibulk, the form a replica uses to
 * talk to its master during the handshake and for `REPLCONF ACK`:
 *
 *   "*" argc CRLF argc*( "$" len CRLF bytes CRLF )
 */
export function encodeCommand(args: ReadonlyArray<string | Buffer>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === 'string' ? Buffer.from(arg, 'utf8') : arg;
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

/** Byte length of a command's canonical encoding (what it adds to the replication offset). */
export function encodedLength(argv: ReadonlyArray<Buffer>): number {
  let n = 1 + String(argv.length).length + 2;
  for (const arg of argv) n += 1 + String(arg.length).length + 2 + arg.length + 2;
  return n;
}

const CRLF = Buffer.from('\r\n');
