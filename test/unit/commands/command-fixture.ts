import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The COMMAND reply and COMMAND GETKEYS answers captured from Redis 7.0.15 (test/fixtures/commands/README.md). */
export interface CommandFixture {
  server: string;
  command: unknown[];
  getkeys: { argv: string[]; keys?: string[]; error?: string }[];
}

export function loadCommandFixture(): CommandFixture {
  const file = join(__dirname, '../../fixtures/commands/command-redis-7.0.15.json');
  return JSON.parse(readFileSync(file, 'utf8')) as CommandFixture;
}

/** The same reply as ioredis `callBuffer('COMMAND')` returns it: every string a Buffer. */
export function asBuffers(value: unknown): unknown {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  if (Array.isArray(value)) return value.map(asBuffers);
  return value;
}

export const argvOf = (...args: (string | Buffer)[]): Buffer[] => args.map((a) => (typeof a === 'string' ? Buffer.from(a) : a));
