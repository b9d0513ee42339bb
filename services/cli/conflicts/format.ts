import { bytesOf, type ConflictRecord, type ConflictWrite, type TextEncoding } from '../../shared/conflict-record';
import { formatArg, formatCommand } from '../audit/format';
import { argJson } from '../audit/render';

/**
 * The human form of `tandem conflicts`: two lines per conflict, this DC's
 * write first, then the peer's, each with its origin, capture time and the
 * command that wrote the key (or hash field).
 *
 *   DETECTED                  KEY     ORIGIN  CAPTURED                  COMMAND
 *   2024-05-01T12:00:00.123Z  user:1  b       2024-05-01T11:59:59.100Z  SET user:1 from-b
 *                                     a       2024-05-01T11:59:59.050Z  SET user:1 from-a
 *
 * Keys and arguments are shown as `tandem audit` shows them (quoted when they
 * hold spaces or quotes, `b64:` when not printable UTF-8). Keys are cut at
 * KEY_WIDTH characters and commands at COMMAND_WIDTH, with `…`; a command
 * the sink had already cut (`truncated`) also ends with `…`. `--json` has
 * every record whole.
 */
export const KEY_WIDTH = 40;
export const COMMAND_WIDTH = 72;

const TIME_WIDTH = 26;

/** At most `width` characters (code points), the last one `…` when cut. */
export function cut(s: string, width: number): string {
  const chars = Array.from(s);
  return chars.length <= width ? s : `${chars.slice(0, width - 1).join('')}…`;
}

const shown = (text: string, encoding: TextEncoding) => argJson(bytesOf(text, encoding));

/** The key column: the key, and the hash field for field commands. */
export function keyText(r: ConflictRecord): string {
  const key = formatArg(shown(r.key, r.keyEncoding));
  const field = r.field === null ? '' : ` (field ${formatArg(shown(r.field, r.fieldEncoding ?? 'utf8'))})`;
  return cut(`${key}${field}`, KEY_WIDTH);
}

export function commandText(w: ConflictWrite): string {
  const text = formatCommand(w.command.map((a) => shown(a, w.encoding)));
  const line = cut(w.truncated ? `${text}…` : text, COMMAND_WIDTH);
  return w.commands > 1 ? `${line}  (in a transaction of ${w.commands} commands)` : line;
}

/** The header and lines for these records, in the order given; columns as wide as their longest value. */
export function formatConflicts(records: readonly ConflictRecord[]): string[] {
  const keys = records.map(keyText);
  const keyWidth = Math.max(3, ...keys.map((k) => Array.from(k).length)) + 2;
  const originWidth = Math.max(6, ...records.flatMap((r) => [r.local.origin.length, r.peerWrite.origin.length])) + 2;
  const write = (w: ConflictWrite) => `${w.origin.padEnd(originWidth)}${new Date(w.capturedAt).toISOString().padEnd(TIME_WIDTH)}${commandText(w)}`;
  const lines = [`${'DETECTED'.padEnd(TIME_WIDTH)}${'KEY'.padEnd(keyWidth)}${'ORIGIN'.padEnd(originWidth)}${'CAPTURED'.padEnd(TIME_WIDTH)}COMMAND`];
  records.forEach((r, i) => {
    lines.push(`${new Date(r.detectedAt).toISOString().padEnd(TIME_WIDTH)}${padChars(keys[i], keyWidth)}${write(r.local)}`);
    lines.push(`${' '.repeat(TIME_WIDTH + keyWidth)}${write(r.peerWrite)}`);
  });
  return lines;
}

const padChars = (s: string, width: number) => s + ' '.repeat(Math.max(0, width - Array.from(s).length));
