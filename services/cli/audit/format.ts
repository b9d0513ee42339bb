import type { AuditEntry } from './collect';
import type { ArgJson } from './render';

/**
 * The human form of `tandem audit`: one line per event, then one indented
 * line per further command of the event and for a decoded RESTORE value.
 *
 *   TIME                      ORIGIN  KIND         AT        COMMAND
 *   2024-05-01T12:00:00.123Z  a       command      7/1234    SET user:1 alice
 */
export const AUDIT_HEADER = `${'TIME'.padEnd(26)}${'ORIGIN'.padEnd(10)}${'KIND'.padEnd(13)}${'AT'.padEnd(14)}COMMAND`;
const INDENT = ' '.repeat(26 + 10 + 13 + 12);

export function formatArg(a: ArgJson): string {
  if (typeof a === 'string') return a.length > 0 && /^[^\s"'\\]+$/.test(a) ? a : JSON.stringify(a);
  if ('truncated' in a) return a.text !== undefined ? `${JSON.stringify(a.text)}…(${a.bytes} bytes)` : `b64:${a.base64}…(${a.bytes} bytes)`;
  return `b64:${a.base64}`;
}

export function formatCommand(argv: ArgJson[]): string {
  return argv.map((a, i) => (i === 0 && typeof a === 'string' ? a.toUpperCase() : formatArg(a))).join(' ');
}

export function formatEntry(e: AuditEntry): string {
  const lines = [
    `${e.time.padEnd(26)}${e.origin.padEnd(10)}${e.kind.padEnd(13)}${`${e.partition}/${e.offset}:${e.index}`.padEnd(14)}${formatCommand(e.commands[0] ?? [])}`,
  ];
  for (const c of e.commands.slice(1)) lines.push(`${INDENT}${formatCommand(c)}`);
  if (e.otherCommands) lines.push(`${INDENT}(+${e.otherCommands} command${e.otherCommands > 1 ? 's' : ''} of the same transaction on other keys)`);
  if (e.chunks !== undefined) lines.push(`${INDENT}(payload assembled from ${e.chunks} chunk events)`);
  if (e.decoded !== undefined) {
    lines.push('error' in e.decoded ? `${INDENT}(payload not decodable: ${e.decoded.error})` : `${INDENT}= ${e.decoded.type} ${JSON.stringify(e.decoded.value)}`);
  }
  return lines.join('\n');
}
