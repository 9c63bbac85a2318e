/**
 * One status line at the bottom of the terminal that ticks (spinner, elapsed time) while work
 * runs; other lines are printed above it. Only on a terminal: when stdout or stderr is not one,
 * or with --quiet, callers get no live line (isLiveTerminal) and print plain lines instead.
 */

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** A live line is drawn only when both stdout and stderr are terminals and progress is wanted. */
export function isLiveTerminal(quiet: boolean | undefined): boolean {
  return !quiet && Boolean(process.stdout.isTTY) && Boolean(process.stderr.isTTY);
}

export class LiveLine {
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;
  private render: (() => string) | undefined;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly tickMs = 1000,
  ) {}

  /** Shows `render()` (re-evaluated at every tick) after a spinner frame; undefined hides the line. */
  show(render: (() => string) | undefined): void {
    this.render = render;
    if (render && !this.timer) {
      this.timer = setInterval(() => this.draw(), this.tickMs);
      this.timer.unref();
    }
    if (!render) this.stopTimer();
    this.draw();
  }

  /** Prints a line above the live line. */
  print(line: string): void {
    this.clear();
    this.stream.write(`${line}\n`);
    this.draw(false);
  }

  /** Writes raw output above the live line (redrawn once the output ends a line). */
  write(raw: string): void {
    this.clear();
    this.stream.write(raw);
    if (raw.endsWith("\n")) this.draw(false);
  }

  /** Removes the line and stops ticking. */
  stop(): void {
    this.stopTimer();
    this.render = undefined;
    this.clear();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private clear(): void {
    if (this.drawn) this.stream.write("\r\u001b[K");
    this.drawn = false;
  }


  private draw(advance = true): void {
    this.clear();
    if (!this.render) return;
    if (advance) this.frame = (this.frame + 1) % FRAMES.length;
    const columns = this.stream.columns || 100;
    const text = `${FRAMES[this.frame]} ${this.render()}`;
    this.stream.write(Array.from(text).slice(0, Math.max(10, columns - 1)).join(""));
    this.drawn = true;
  }
}
