const WIDTH = 30;
const REDRAW_MS = 100;

/** A progress bar on stderr, redrawn in place at most every 100 ms. */
export class ProgressBar {
  private drawnAt = 0;

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number, force = false): void {
    const now = Date.now();
    if (!force && now - this.drawnAt < REDRAW_MS) return;
    this.drawnAt = now;
    const fraction = this.total === 0 ? 1 : Math.min(1, done / this.total);
    const filled = Math.round(fraction * WIDTH);
    process.stderr.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${Math.floor(fraction * 100)}% ${done}/${this.total}`);
  }

  finish(done: number): void {
    this.update(done, true);
    process.stderr.write('\n');
  }
}
