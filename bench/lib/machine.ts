import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';

/**
 * Where a benchmark ran: printed by every benchmark so that a figure in
 * BENCHMARKS.md can always be traced to a machine and a commit.
 */
export interface MachineInfo {
  nproc: number;
  cpu: string;
  ramGiB: number;
  node: string;
  commit: string;
  /** 1-minute load average when the benchmark started: other work on the machine skews every figure. */
  loadAvg1m: number;
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // not Linux: fall back to what Node reports
  }
  return cpus()[0]?.model ?? 'unknown';
}

function gitCommit(): string {
  const root = join(__dirname, '../../..');
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${sha} dirty` : sha;
  } catch (err) {
    return `unknown (${(err as Error).message.split('\n')[0]})`;
  }
}

export function machineInfo(): MachineInfo {
  return {
    nproc: cpus().length,
    cpu: cpuModel(),
    ramGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    commit: gitCommit(),
    loadAvg1m: Math.round(loadavg()[0] * 100) / 100,
  };
}

export function printMachine(bench: string): MachineInfo {
  const m = machineInfo();
  console.log(`# ${bench}: nproc ${m.nproc}, CPU ${m.cpu}, RAM ${m.ramGiB} GiB, node ${m.node}, commit ${m.commit}, load average ${m.loadAvg1m}`);
  return m;
}

/**
 * The machine line of a BENCHMARKS.md section, without its closing period:
 * "Machine: nproc …; commit …; 1-minute load average … at the start<loadNote>; <date>".
 */
export function machineLine(m: MachineInfo, loadNote = ''): string {
  return `Machine: nproc ${m.nproc}, ${m.cpu}, RAM ${m.ramGiB} GiB, node ${m.node}; commit ${m.commit}; 1-minute load average ${m.loadAvg1m} at the start${loadNote}; ${new Date().toISOString().slice(0, 10)}`;
}

/** `--name value` from an argument list, or the default. */
export function arg(argv: string[], name: string, def: string): string {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : def;
}

/** Peak resident set size of this process so far, in MiB (VmHWM; maxRSS where /proc is missing). */
export function peakRssMiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}
