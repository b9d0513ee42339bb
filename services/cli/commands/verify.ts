import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { TandemError, errorMessage } from '../../shared/errors';
import { parseChoice, parseFiniteDuration, parsePositiveInt } from '../options';
import { addTlsOptions, openRedisTarget, parseRedisUrl, tlsFilesOf, type OpenTarget, type TlsCliOptions } from '../redis-url';
import { DIFF_KINDS, VERIFY_MODES, type VerifyMode } from '../verify/classify';
import { verifyClusters, type RoundResult, type VerifyResult } from '../verify/rounds';

/**
 * `tandem verify --a URL --b URL`: compare two clusters key by key, both ways,
 * re-checking differences over several rounds. Exit 0 when nothing differs
 * after the last round, 1 when something does (or on failure), 2 on usage.
 */
interface VerifyCliOptions extends TlsCliOptions {
  a: string;
  b: string;
  aPasswordEnv?: string;
  bPasswordEnv?: string;
  mode: VerifyMode;
  match: string;
  rounds: number;
  pause: number;
  qps: number;
  scanCount: number;
  ttlTolerance: number;
  includeMarkers?: boolean;
  json?: boolean;
  report?: string;
  maxShown: number;
}

const SHOWN_DEFAULT = 20;

export function registerVerifyCommand(program: Command): void {
  addTlsOptions(program.command('verify'), 'rediss:// targets')
    .description('compare two clusters key by key in both directions; exit 1 if keys still differ after the last round')
    .requiredOption('--a <url>', 'cluster a: redis[s]://[user[:password]@]host:port[,host:port…] (a single node may be standalone)')
    .requiredOption('--b <url>', 'cluster b, same form')
    .option('--a-password-env <var>', "take a's password from this environment variable")
    .option('--b-password-env <var>', "take b's password from this environment variable")

    .option('--mode <mode>', 'full (value and TTL), length (type and length) or exists (type only)', parseChoice('--mode', VERIFY_MODES), 'full')
    .option('--match <pattern>', 'compare only keys matching this SCAN pattern', '*')
    .option('--rounds <n>', 're-check rounds for keys that differ (1 = no re-check)', parsePositiveInt('--rounds', 100), 3)
    .option('--pause <duration>', 'pause between rounds, e.g. 500ms, 2s', parseFiniteDuration('--pause'), 2000)
    .option('--qps <n>', 'key-checks per second across both sides (each reads the key on a and b)', parsePositiveInt('--qps', 1_000_000), 5000)
    .option('--scan-count <n>', 'COUNT hint of each SCAN call', parsePositiveInt('--scan-count', 100_000), 1000)
    .option('--ttl-tolerance <duration>', 'largest PTTL difference that is not a difference (mode full)', parseFiniteDuration('--ttl-tolerance'), 2000)
    .option('--include-markers', 'also compare the __tandem:* anti-loop marker keys (they differ per DC by design)')
    .option('--max-shown <n>', 'differing keys listed in the human output', parsePositiveInt('--max-shown'), SHOWN_DEFAULT)
    .option('--report <file>', 'write a JSON report of the keys that still differ to this file')
    .option('--json', 'print one JSON object instead of the human summary')
    .action(async (opts: VerifyCliOptions) => {
      // URLs are parsed here, not by commander: its error message would echo the value, password included.
      const tlsFiles = tlsFilesOf(opts);
      const ta = parseRedisUrl(opts.a, { passwordEnv: opts.aPasswordEnv, tls: opts.a.startsWith('rediss:') ? tlsFiles : undefined });
      const tb = parseRedisUrl(opts.b, { passwordEnv: opts.bPasswordEnv, tls: opts.b.startsWith('rediss:') ? tlsFiles : undefined });
      const say = (line: string) => {
        if (!opts.json) process.stdout.write(`${line}\n`);
      };
      let a: OpenTarget | undefined;
      let b: OpenTarget | undefined;
      try {
        a = await openRedisTarget(ta, 'a');
        b = await openRedisTarget(tb, 'b');
        say(`verify (mode ${opts.mode}, match ${opts.match}, up to ${opts.rounds} round${opts.rounds > 1 ? 's' : ''}, ${opts.qps} key-checks/s)`);
        say(`  a: ${describe(a)}`);
        say(`  b: ${describe(b)}`);
        const result = await verifyClusters(a.client, b.client, {
          mode: opts.mode,
          match: opts.match,
          rounds: opts.rounds,
          pauseMs: opts.pause,
          qps: opts.qps,
          scanCount: opts.scanCount,
          ttlToleranceMs: opts.ttlTolerance,
          includeMarkers: opts.includeMarkers ?? false,
          onRound: (r: RoundResult) => say(`round ${r.round}: ${r.checked} key${r.checked === 1 ? '' : 's'} checked, ${r.differing} differ (${r.elapsedMs} ms)`),
        });
        const report = reportOf(a, b, opts, result);
        if (opts.report) {
          try {
            writeFileSync(opts.report, `${JSON.stringify(report, null, 2)}\n`);
          } catch (err) {
            throw new TandemError('INTERNAL', `cannot write the report to ${opts.report}: ${errorMessage(err)}`, { cause: err });
          }
        }
        if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
        else printSummary(result, opts);
        if (result.diffs.length > 0) process.exitCode = 1;
      } finally {
        a?.close();
        b?.close();
      }
    });
}

function describe(t: OpenTarget): string {
  return t.mode === 'cluster' ? `${t.target.display} (cluster, ${t.masters().length} masters)` : `${t.target.display} (standalone)`;
}

export function reportOf(a: OpenTarget, b: OpenTarget, opts: VerifyCliOptions, r: VerifyResult) {
  return {
    ok: r.diffs.length === 0,
    a: { url: a.target.display, mode: a.mode },
    b: { url: b.target.display, mode: b.mode },
    mode: opts.mode,
    match: opts.match,
    ttlToleranceMs: opts.ttlTolerance,
    includeMarkers: opts.includeMarkers ?? false,
    scanned: r.scanned,
    compared: r.compared,
    rounds: r.rounds,
    differing: r.diffs.length,
    byKind: r.byKind,
    elapsedMs: r.elapsedMs,
    diffs: r.diffs,
  };
}

function printSummary(r: VerifyResult, opts: VerifyCliOptions): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`scanned: ${r.scanned.a} keys in a, ${r.scanned.b} in b; ${r.compared} compared; ${r.rounds.length} round${r.rounds.length > 1 ? 's' : ''}; ${(r.elapsedMs / 1000).toFixed(1)} s`);
  if (r.diffs.length === 0) {
    out('no differences: a and b hold the same keys' + (opts.mode === 'full' ? ', values and TTLs' : opts.mode === 'length' ? ', types and lengths' : ' and types'));
    return;
  }
  out(`DIFFERENT: ${r.diffs.length} key${r.diffs.length === 1 ? '' : 's'} still differ after ${r.rounds.length} round${r.rounds.length > 1 ? 's' : ''}: ${DIFF_KINDS.filter((k) => r.byKind[k] > 0).map((k) => `${k} ${r.byKind[k]}`).join(', ')}`);
  const width = Math.max(...r.diffs.map((d) => d.kind.length));
  for (const d of r.diffs.slice(0, opts.maxShown)) out(`  ${d.kind.padEnd(width)}  ${JSON.stringify(d.key)}  ${d.detail}`);
  if (r.diffs.length > opts.maxShown) out(`  … and ${r.diffs.length - opts.maxShown} more${opts.report ? ` (all in ${opts.report})` : ' (use --report FILE or --json for all)'}`);
  if (opts.report) out(`report: ${opts.report}`);
}
