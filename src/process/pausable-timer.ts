/**
 * A one-shot timer that can be paused and resumed, so that time a process spends stopped by the user
 * (or blocked because its reader is slow) does not count against it. `touch()` restarts the count
 * (inactivity timeouts) without a clearTimeout/setTimeout pair per output chunk.
 */
export class PausableTimer {
  private handle: NodeJS.Timeout | undefined;
  private remaining: number;
  private startedAt = 0;
  private lastTouch = 0;
  private done = false;

  constructor(
    private readonly ms: number,
    private readonly onFire: () => void,
  ) {
    this.remaining = ms;
  }

  start(): this {
    this.schedule();
    return this;
  }

  touch(): void {
    this.lastTouch = Date.now();
  }

  pause(): void {
    if (!this.handle) return;
    clearTimeout(this.handle);
    this.handle = undefined;
    this.remaining = this.timeLeft(Date.now());
  }

  resume(): void {
    if (this.handle || this.done) return;
    this.schedule();
  }

  clear(): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
    this.done = true;
  }

  private timeLeft(now: number): number {
    return this.lastTouch > this.startedAt ? this.ms - (now - this.lastTouch) : this.remaining - (now - this.startedAt);
  }

  private schedule(): void {
    this.startedAt = Date.now();
    this.handle = setTimeout(() => this.check(), Math.max(0, this.remaining));
    this.handle.unref?.();
  }

  private check(): void {
    this.handle = undefined;
    const left = this.timeLeft(Date.now());
    if (left > 0) {
      this.remaining = left;
      this.schedule();
      return;
    }
    this.done = true;
    this.onFire();
  }
}
