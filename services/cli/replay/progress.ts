/**
 * Progress of a replay on stderr. On a TTY: one line redrawn in place,
 *
 *   [##########----------]  52%  1,234,567/2,345,678 records  48,211/s  ETA 0:23
 *
 * otherwise (a pipe, a log file) one plain line every `intervalMs`.
 */
export interface ProgressSink {
  isTTY?: boolean;
  write(text: string): unknown;
}

export class Progress {
  private done = 0n;
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private lastLine = 0;

  constructor(
    private readonly total: bigint,
    private readonly out: ProgressSink,
    private readonly o: { mode: 'bar' | 'log' | 'none'; intervalMs?: number; now?: () => number } = { mode: 'log' },
  ) {}

  start(): void {
    if (this.o.mode === 'none') return;
    const every = this.o.mode === 'bar' ? 200 : (this.o.intervalMs ?? 5000);
    this.timer = setInterval(() => this.render(), every);
    this.timer.unref();
  }

  add(records: bigint): void {
    this.done += records;
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.o.mode === 'bar') {
      this.render();
      this.out.write('\n');
    }
  }

  render(): void {
    const line = progressLine(this.done, this.total, (this.o.now ?? Date.now)() - this.started, this.o.mode === 'bar');
    if (this.o.mode === 'bar') {
      this.out.write(`\r${line.padEnd(this.lastLine)}`);
      this.lastLine = line.length;
    } else if (this.o.mode === 'log') {
      this.out.write(`replay: ${line}\n`);
    }
  }
}

export function progressLine(done: bigint, total: bigint, elapsedMs: number, bar: boolean): string {
  const frac = total > 0n ? Math.min(1, Number(done) / Number(total)) : 1;
  const rate = elapsedMs > 0 ? (Number(done) * 1000) / elapsedMs : 0;
  const remaining = Number(total > done ? total - done : 0n);
  const eta = rate > 0 ? formatSeconds(remaining / rate) : '?';
  const pct = `${Math.floor(frac * 100)}%`.padStart(4);
  const n = (x: bigint | number) => x.toLocaleString('en-US');
  const body = `${pct}  ${n(done)}/${n(total)} records  ${n(Math.round(rate))}/s  ETA ${eta}`;
  if (!bar) return body;
  const width = 20;
  const filled = Math.round(frac * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${body}`;
}

export function formatSeconds(s: number): string {
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}
