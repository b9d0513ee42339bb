/**
 * Incremental, zero-copy parser for the command stream a Redis master
 * propagates to its replicas after the RDB (or after `+CONTINUE`).
 *
 * Grammar (RESP2 multibulk, the only form a master propagates):
 *
 *   stream  = *command
 *   command = "*" argc CRLF argc*( bulk )
 *   bulk    = "$" len CRLF <len bytes> CRLF
 *   argc    = 1*DIGIT            ; >= 1
 *   len     = 1*DIGIT            ; >= 0
 *
 * Anything else (an inline command, a `+`/`-`/`:` reply, a bare newline) means
 * the stream is out of step with us and is a RESP_PROTOCOL error: a master never
 * sends inline commands after the RDB (redis/src/networking.c
 * processInlineBuffer: "Masters should never send us inline protocol to run
 * actual commands").
 *
 * Offsets: every byte consumed advances the offset, so `offsetAfter` is the
 * master_repl_offset right after the command, whatever the command is (PING,
 * SELECT, MULTI, EXEC and REPLCONF GETACK count like any other command). We
 * count the bytes we actually read rather than re-encoding argv, so the offset
 * stays exact even if a future server sent a non-canonical encoding.
 *
 * Zero copy: argv elements are `subarray` views of the chunks handed to
 * `feed()`. Bytes are copied only when a header line or a bulk straddles a
 * chunk boundary; a bulk larger than one chunk is gathered as a list of parts
 * and concatenated once, so a 100 MB value costs one copy, not one per chunk.
 */
import { TandemError } from '../../shared/errors';

export interface ParsedCommand {
  argv: Buffer[];
  /** master_repl_offset right after this command's last byte. */
  offsetAfter: number;
}

export interface CommandParserOptions {
  /** Largest bulk accepted; Redis's own default proto-max-bulk-len is 512 MB. */
  maxBulkLength?: number;
  /** Largest argc accepted. */
  maxArgc?: number;
}

const STAR = 0x2a; // '*'
const DOLLAR = 0x24; // '$'
const CR = 0x0d;
const LF = 0x0a;
const ZERO = 0x30;
const NINE = 0x39;

/** A header line is `*<digits>` or `$<digits>`; longer means garbage, not a slow sender. */
const MAX_HEADER_LINE = 24;

const enum State {
  CommandHeader,
  BulkHeader,
  BulkBody,
}

export class CommandParser {
  private offsetValue: number;
  private readonly maxBulkLength: number;
  private readonly maxArgc: number;

  private state: State = State.CommandHeader;
  /** Unparsed bytes of a header line cut by a chunk boundary. */
  private pendingLine: Buffer | null = null;
  /** Parts of a bulk body cut by chunk boundaries, and their total size. */
  private bodyParts: Buffer[] | null = null;
  private bodyHave = 0;

  private argv: Buffer[] = [];
  private argcLeft = 0;
  private bulkLen = 0;
  /** Bytes of the command in progress consumed so far. */
  private cmdBytes = 0;
  /** Result of the last parseHeader() call. */
  private headerValue = 0;

  constructor(startOffset: number, opts: CommandParserOptions = {}) {
    this.offsetValue = startOffset;
    this.maxBulkLength = opts.maxBulkLength ?? 0x7fffffff;
    this.maxArgc = opts.maxArgc ?? 16 * 1024 * 1024;
  }

  /** Offset after the last complete command returned by feed(). */
  get offset(): number {
    return this.offsetValue;
  }

  /** Bytes held for a command that is not complete yet (0 between commands). */
  get bufferedBytes(): number {
    return this.cmdBytes + (this.pendingLine?.length ?? 0) + this.bodyHave;
  }

  /** True when no command is partially parsed. */
  get atCommandBoundary(): boolean {
    return this.state === State.CommandHeader && this.pendingLine === null && this.argv.length === 0;
  }

  /**
   * Parses as many complete commands as `chunk` completes. Keeps the rest for
   * the next call. Throws RESP_PROTOCOL on bytes outside the grammar; the parser
   * is then unusable (the link must reconnect).
   */
  feed(chunk: Buffer): ParsedCommand[] {
    const out: ParsedCommand[] = [];
    let buf: Buffer;
    if (this.bodyParts !== null) {
      this.bodyParts.push(chunk);
      this.bodyHave += chunk.length;
      if (this.bodyHave < this.bulkLen + 2) return out;
      buf = Buffer.concat(this.bodyParts, this.bodyHave);
      this.bodyParts = null;
      this.bodyHave = 0;
    } else if (this.pendingLine !== null) {
      buf = Buffer.concat([this.pendingLine, chunk]);
      this.pendingLine = null;
    } else {
      buf = chunk;
    }

    let pos = 0;
    const len = buf.length;
    while (pos < len) {
      if (this.state === State.CommandHeader) {
        // Fast path: a whole command in `buf`, parsed with locals only.
        const end = this.parseWhole(buf, pos, out);
        if (end > 0) {
          pos = end;
          continue;
        }
      }
      if (this.state === State.BulkBody) {
        const need = this.bulkLen + 2;
        if (len - pos < need) {
          this.bodyParts = [buf.subarray(pos)];
          this.bodyHave = len - pos;
          return out;
        }
        const end = pos + this.bulkLen;
        if (buf[end] !== CR || buf[end + 1] !== LF) {
          throw this.protocolError(`bulk of ${this.bulkLen} bytes not followed by CRLF`, buf, end);
        }
        this.argv.push(buf.subarray(pos, end));
        pos += need;
        this.cmdBytes += need;
        if (--this.argcLeft === 0) {
          this.offsetValue += this.cmdBytes;
          out.push({ argv: this.argv, offsetAfter: this.offsetValue });
          this.argv = [];
          this.cmdBytes = 0;
          this.state = State.CommandHeader;
        } else {
          this.state = State.BulkHeader;
        }
        continue;
      }

      // A header line: `*argc\r\n` or `$len\r\n`.
      const expected = this.state === State.CommandHeader ? STAR : DOLLAR;
      if (buf[pos] !== expected) {
        throw this.protocolError(
          this.state === State.CommandHeader
            ? 'expected a multibulk command (*); masters never send inline commands after the RDB'
            : 'expected a bulk string ($) inside a multibulk command',
          buf,
          pos,
        );
      }
      const lineEnd = this.parseHeader(buf, pos + 1);
      if (lineEnd < 0) {
        if (len - pos > MAX_HEADER_LINE) throw this.protocolError('header line too long', buf, pos);
        this.pendingLine = buf.subarray(pos);
        return out;
      }
      const lineBytes = lineEnd + 2 - pos;
      const value = this.headerValue;
      pos = lineEnd + 2;
      this.cmdBytes += lineBytes;
      if (this.state === State.CommandHeader) {
        if (value < 1 || value > this.maxArgc) throw this.protocolError(`invalid argc ${value}`, buf, pos - lineBytes);
        this.argcLeft = value;
        this.state = State.BulkHeader;
      } else {
        if (value > this.maxBulkLength) {
          throw this.protocolError(`bulk length ${value} exceeds the limit ${this.maxBulkLength}`, buf, pos - lineBytes);
        }
        this.bulkLen = value;
        this.state = State.BulkBody;
      }
    }
    return out;
  }

  /**
   * Parses one complete command at `start` and pushes it to `out`; returns the
   * position after it, or -1 (nothing consumed) when the command is not whole
   * in `buf` or looks malformed — the state machine then takes over and
   * reports errors precisely.
   */
  private parseWhole(buf: Buffer, start: number, out: ParsedCommand[]): number {
    const len = buf.length;
    if (buf[start] !== STAR) return -1;
    let i = start + 1;
    let argc = 0;
    let c = 0;
    while (i < len && (c = buf[i]) >= ZERO && c <= NINE) {
      argc = argc * 10 + (c - ZERO);
      i++;
    }
    if (i + 1 >= len || c !== CR || buf[i + 1] !== LF || argc < 1 || argc > this.maxArgc || i === start + 1) return -1;
    i += 2;
    const argv: Buffer[] = new Array(argc);
    for (let k = 0; k < argc; k++) {
      if (i >= len || buf[i] !== DOLLAR) return -1;
      const digits = ++i;
      let n = 0;
      while (i < len && (c = buf[i]) >= ZERO && c <= NINE) {
        n = n * 10 + (c - ZERO);
        i++;
      }
      if (i === digits || i + 1 >= len || c !== CR || buf[i + 1] !== LF || n > this.maxBulkLength) return -1;
      i += 2;
      const end = i + n;
      if (end + 2 > len || buf[end] !== CR || buf[end + 1] !== LF) return -1;
      argv[k] = buf.subarray(i, end);
      i = end + 2;
    }
    this.offsetValue += i - start;
    out.push({ argv, offsetAfter: this.offsetValue });
    return i;
  }

  /**
   * Reads `<digits>\r\n` from `start`. Returns the index of the CR and sets
   * headerValue, or -1 when the line is not complete in `buf`.
   */
  private parseHeader(buf: Buffer, start: number): number {
    let value = 0;
    let i = start;
    const len = buf.length;
    for (; i < len; i++) {
      const c = buf[i];
      if (c >= ZERO && c <= NINE) {
        value = value * 10 + (c - ZERO);
        continue;
      }
      if (c !== CR || i === start) throw this.protocolError('invalid length in header line', buf, start - 1);
      if (i + 1 >= len) return -1;
      if (buf[i + 1] !== LF) throw this.protocolError('header line not ended by CRLF', buf, start - 1);
      this.headerValue = value;
      return i;
    }
    if (i - start > MAX_HEADER_LINE) throw this.protocolError('header line too long', buf, start - 1);
    return -1;
  }

  private protocolError(what: string, buf: Buffer, at: number): TandemError {
    const around = buf.subarray(Math.max(0, at - 16), Math.min(buf.length, at + 32));
    return new TandemError(
      'RESP_PROTOCOL',
      `replication stream: ${what} near master offset ${this.offsetValue + this.cmdBytes} ` +
        `(bytes ${JSON.stringify(around.toString('latin1'))})`,
    );
  }
}

/** Case-insensitive ASCII comparison of a command name with a lower-case literal. */
export function commandNameIs(name: Buffer, lower: string): boolean {
  const n = lower.length;
  if (name.length !== n) return false;
  for (let i = 0; i < n; i++) {
    if ((name[i] | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}
