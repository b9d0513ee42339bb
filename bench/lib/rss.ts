import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Peak resident set size of other processes (the bench's children), in MiB,
 * over a window: VmRSS sampled every `everyMs`, and the kernel's own peak,
 * VmHWM, read at the end. At the start of the window VmHWM is reset
 * (`echo 5 > /proc/<pid>/clear_refs`, Linux ≥ 4.0, "Reset the peak resident
 * set size"), so a process that lives through several loads reports each
 * load's own peak; where the reset is refused the sampled maximum stands alone.
 * The pid must be the measured program itself (node or redis-shake), not a
 * shell or npm wrapper: the children are spawned without one.
 */
function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined; // the process has exited, or this is not Linux: no sample
  }
}

export class RssWindow {
  private readonly peakKiB = new Map<string, number>();
  private readonly hwmReset = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pids: Record<string, number | undefined>,
    everyMs = 200,
  ) {
    for (const [name, pid] of Object.entries(pids)) {
      if (pid === undefined) continue;
      try {
        writeFileSync(`/proc/${pid}/clear_refs`, '5');
        this.hwmReset.add(name);
      } catch {
        // not permitted or not Linux: the samples alone give the peak
      }
    }
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  private sample(field: 'VmRSS' | 'VmHWM' = 'VmRSS', only?: Set<string>): void {
    for (const [name, pid] of Object.entries(this.pids)) {
      if (pid === undefined || (only && !only.has(name))) continue;
      const kib = statusKiB(pid, field);
      if (kib !== undefined) this.peakKiB.set(name, Math.max(this.peakKiB.get(name) ?? 0, kib));
    }
  }

  /** Stops sampling; peak MiB per process name (NaN: never measured). */
  stop(): Record<string, number> {
    clearInterval(this.timer);
    this.sample();
    this.sample('VmHWM', this.hwmReset);
    return Object.fromEntries(Object.keys(this.pids).map((name) => [name, Math.round((this.peakKiB.get(name) ?? Number.NaN) / 1024)]));
  }
}
