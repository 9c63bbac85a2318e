import { clip } from "./progress-messages.js";

/**
 * MCP progress notifications for one tool call. Sent only when the client asked for them (a
 * progressToken in the request's _meta). The spec requires `progress` to increase with every
 * notification: a value that would not is dropped here, so callers need not care.
 */

/** A progress notification at least this often while a tool call runs (when the client asked for progress). */
export const HEARTBEAT_MS = 15_000;

export interface ProgressExtra {
  _meta?: { progressToken?: string | number; [k: string]: unknown };
  sendNotification: (notification: { method: "notifications/progress"; params: { progressToken: string | number; progress: number; total?: number; message?: string } }) => Promise<void>;
}

export class ProgressReporter {
  private readonly token: string | number | undefined;
  private last = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private lastSentAt = 0;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly extra: ProgressExtra) {
    this.token = extra._meta?.progressToken;
  }

  get enabled(): boolean {
    return this.token !== undefined;
  }

  /** The last progress value sent (-Infinity before the first). */
  get current(): number {
    return this.last;
  }

  send(progress: number, total?: number, message?: string): void {
    if (this.token === undefined || !(progress > this.last)) return;
    this.last = progress;
    const params: { progressToken: string | number; progress: number; total?: number; message?: string } = { progressToken: this.token, progress };
    if (total !== undefined) params.total = total;
    if (message !== undefined) params.message = clip(message, 300);
    this.lastSentAt = Date.now();
    const sent = this.extra.sendNotification({ method: "notifications/progress", params }).catch(() => undefined);
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
  }

  /**
   * Call before answering: waits until the notifications are written and a short quiet time has
   * passed since the last one. Clients built on the MCP SDK handle a notification a microtask
   * later than a response, so a progress notification read in the same chunk as the answer would
   * find its token already gone ("unknown token"); the pause keeps them apart.
   */
  async settle(quietMs = 100): Promise<void> {
    this.stop();
    if (this.token === undefined || this.lastSentAt === 0) return;
    await Promise.allSettled([...this.inFlight]);
    const wait = this.lastSentAt + quietMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  /** Calls `tick` every `ms` while work runs, so that clients which reset their timeout on progress keep waiting. */
  heartbeat(ms: number, tick: () => void): void {
    if (this.token === undefined || this.timer) return;
    this.timer = setInterval(tick, ms);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * Progress between whole steps: while `done` steps are finished, the k-th tick reports
 * done + k/(k+1), which rises towards done + 1 without reaching it, so the next whole step is
 * still an increase.
 */
export class FractionalSteps {
  private base = 0;
  private ticks = 0;

  /** A whole step was reached: returns it. */
  step(done: number): number {
    if (done !== this.base) {
      this.base = done;
      this.ticks = 0;
    }
    return done;
  }

  /** A sign of life inside the current step. */
  tick(): number {
    this.ticks++;
    return this.base + this.ticks / (this.ticks + 1);
  }
}
