import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import RedisParser from 'redis-parser';

/** The reply a `.resp` capture beside this file holds, parsed as ioredis parses it (redis-parser). */
export function respFixture(file: string): unknown[] {
  let out: unknown[] = [];
  const parser = new RedisParser({
    returnReply: (r: unknown) => {
      out = r as unknown[];
    },
    returnError: (e: Error) => {
      throw e;
    },
  });
  parser.execute(readFileSync(join(__dirname, file)));
  return out;
}

/** A text capture (CLUSTER NODES) from `fixtures/`. */
export const textFixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');
