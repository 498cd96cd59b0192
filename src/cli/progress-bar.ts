const WIDTH = 30;
const REDRAW_MS = 100;
/** On a pipe (a log, CI), a plain line at most this often besides the first and the last. */
const LINE_MS = 5000;

/** Where progress goes: stderr, a terminal or not. */
export interface ProgressOutput {
  isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * Progress of a long run (re-wrapping every stored key, syncing every managed key of a vault) on stderr, with its rate and the time
 * left. On a terminal, a bar redrawn in place at most every 100 ms; elsewhere (a pipe, a log
 * file) the bar's control characters would be noise, so plain lines: one at the start, one at
 * most every 5 s, one at the end.
 */
export class ProgressBar {
  private readonly started: number;
  private shownAt: number;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly out: ProgressOutput = process.stderr,
    private readonly now: () => number = Date.now,
  ) {
    this.started = now();
    this.shownAt = this.started;
    if (!this.terminal) this.line(0);
  }

  private get terminal(): boolean {
    return this.out.isTTY === true;
  }

  update(done: number): void {
    const now = this.now();
    if (now - this.shownAt < (this.terminal ? REDRAW_MS : LINE_MS)) return;
    this.shownAt = now;
    if (this.terminal) this.draw(done);
    else this.line(done);
  }

  finish(done: number): void {
    if (this.terminal) {
      this.draw(done);
      this.out.write('\n');
    } else this.line(done);
  }

  private draw(done: number): void {
    const filled = Math.round(this.fraction(done) * WIDTH);
    // \x1b[K clears what a longer earlier drawing left at the end of the line.
    this.out.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${this.figures(done)}\x1b[K`);
  }

  private line(done: number): void {
    this.out.write(`${this.label}: ${this.figures(done)}\n`);
  }

  /** "42% 420/1000, 850/s, 1s left": the rate over the whole run so far, and the time left at that rate. */
  private figures(done: number): string {
    const seconds = (this.now() - this.started) / 1000;
    const counts = `${Math.floor(this.fraction(done) * 100)}% ${done}/${this.total}`;
    if (done === 0 || seconds <= 0) return counts;
    const rate = done / seconds;
    const left = done >= this.total ? `done in ${duration(seconds)}` : `${duration((this.total - done) / rate)} left`;
    return `${counts}, ${Math.round(rate)}/s, ${left}`;
  }

  private fraction(done: number): number {
    return this.total === 0 ? 1 : Math.min(1, done / this.total);
  }
}

/** 4s, 2m05s, 1h02m: what a person reads at a glance. */
function duration(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
