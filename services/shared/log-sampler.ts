/**
 * A warning that can come once per slot (16384 of them at once, e.g. after a
 * FLUSHALL of the target) is logged at most once per `everyMs`, the lines in
 * between counted and reported with the next one (`suppressed`). Metrics
 * count every occurrence; the log only has to say that it happens.
 */
export class LogSampler {
  private last = Number.NEGATIVE_INFINITY;
  private suppressed = 0;

  constructor(private readonly everyMs = 5000) {}

  /** Calls `log` with the number of occurrences left out since the last line, or counts this one. */
  sample(log: (suppressed: number) => void): void {
    const now = Date.now();
    if (now - this.last < this.everyMs) {
      this.suppressed++;
      return;
    }
    this.last = now;
    const n = this.suppressed;
    this.suppressed = 0;
    log(n);
  }
}
