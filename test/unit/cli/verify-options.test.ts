import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { parseChoice, parseDcList, parseFiniteDuration } from '../../../services/cli/options';
import { RateLimiter } from '../../../services/cli/verify/rate-limit';

describe('option parsers', () => {
  it('parseChoice accepts only the listed words', () => {
    const p = parseChoice('--mode', ['full', 'length', 'exists'] as const);
    expect(p('length')).toBe('length');
    expect(() => p('values')).toThrow(InvalidArgumentError);
    expect(() => p('values')).toThrow('--mode must be one of full, length, exists, got "values"');
  });

  it('parseFiniteDuration refuses forever', () => {
    const p = parseFiniteDuration('--pause');
    expect(p('2s')).toBe(2000);
    expect(p('250ms')).toBe(250);
    expect(p('0')).toBe(0);
    expect(() => p('-1')).toThrow(InvalidArgumentError);
    expect(() => p('soon')).toThrow(InvalidArgumentError);
  });

  it('parseDcList validates each DC name', () => {
    expect(parseDcList('a, b-2')).toEqual(['a', 'b-2']);
    expect(() => parseDcList('a,B')).toThrow(InvalidArgumentError);
    expect(() => parseDcList(',')).toThrow(InvalidArgumentError);
  });
});

describe('RateLimiter', () => {
  it('lets a burst through, then paces at the rate', () => {
    let now = 0;
    const r = new RateLimiter(1000, 10, () => now);
    for (let i = 0; i < 10; i++) expect(r.reserve()).toBe(0);
    expect(r.reserve()).toBeCloseTo(1, 5);
    expect(r.reserve()).toBeCloseTo(2, 5);
    now = 100; // idle time refills the burst, never more
    for (let i = 0; i < 10; i++) expect(r.reserve()).toBe(0);
    expect(r.reserve()).toBeGreaterThan(0);
  });
});

/** The built CLI: usage errors exit 2 with one line, no stack (npm test builds first). */
const CLI = join(__dirname, '../../../dist/services/bin/tandem.js');
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });

describe('verify, status and audit usage errors', () => {
  it.each([
    [['verify', '--a', 'redis://h:1', '--b', 'redis://h:2', '--rounds', '0'], /--rounds must be an integer from 1/],
    [['verify', '--a', 'redis://h:1', '--b', 'redis://h:2', '--qps', 'fast'], /--qps must be an integer/],
    [['verify', '--a', 'redis://h:1', '--b', 'redis://h:2', '--mode', 'deep'], /--mode must be one of full, length, exists/],
    [['verify', '--a', 'redis://u:hunter2@h:x', '--b', 'redis://h:2'], /bad host:port "h:x" in redis:\/\/u:\*\*\*@h:x/],
    [['verify', '--a', 'redis://h:1'], /required option '--b <url>'/],
    [['status', '--dc', 'Bad_DC', '--brokers', 'h:1'], /a DC name is/],
    [['status', '--dc', 'a', '--brokers', 'h:1', '--peers', 'B'], /a DC name is/],
    // Raised inside the action, not by commander's option parsing: once exited 2 silently.
    [['audit', '--dc', 'a', '--key', 'k', '--brokers', 'h:x'], /^tandem: --brokers: expected host:port/],
  ])('%j exits 2 with one clear line', (args, message) => {
    const r = run(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/hunter2|\n\s+at /);
    expect(r.stdout).toBe('');
  });
});
