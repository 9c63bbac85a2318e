import type { Queue, Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { ClaudeTaskEvent } from "../claude/index.js";
import type { Logger } from "../logger.js";
import type { queueKeys } from "./keys.js";

export type OnLimit = "worker" | "queue";

const LIMIT_ERRORS = new Set(["usage_limit", "rate_limit"]);

/** Whether an outcome's error is a usage or rate limit (the task is handed back, not failed). */
export function isLimitError(errorType: string | undefined): boolean {
  return errorType !== undefined && LIMIT_ERRORS.has(errorType);
}

/** Milliseconds-since-epoch reset time from a claude failure or result, when it says one. */
export function resetFrom(ev: ClaudeTaskEvent): number | undefined {
  const r = ev.type === "error" ? ev.failure : ev.type === "completed" ? ev.result : undefined;
  if (!r || !isLimitError(r.error_type)) return undefined;
  if (r.reset_timestamp) return r.reset_timestamp * 1000;
  if (r.retry_after) return Date.now() + r.retry_after * 1000;
  return undefined;
}

/**
 * Waiting out a usage/rate limit: this worker stops taking jobs until the reset (`worker`), or the
 * whole queue is paused with the reset time in Redis, so that any live worker resumes it once it
 * has passed, even if the one that paused it is gone (`queue`).
 */
export class LimitPause {
  /** Epoch ms until which this worker waits (0: not paused). */
  until = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly s: {
      onLimit: OnLimit;
      redis: Redis;
      queue: Queue;
      worker: () => Worker;
      keys: ReturnType<typeof queueKeys>;
      logger: Logger;
      closing: () => boolean;
      changed: () => void;
    },
  ) {}

  async pause(untilMs: number, reason: string): Promise<void> {
    const { s } = this;
    if (s.onLimit === "queue") {
      const current = Number((await s.redis.get(s.keys.pausedUntilKey)) ?? 0);
      if (untilMs > current) await s.redis.set(s.keys.pausedUntilKey, String(untilMs), "PX", Math.max(1000, untilMs - Date.now() + 3_600_000));
      await s.queue.pause();
      s.logger.warn({ until: new Date(untilMs).toISOString(), reason }, "usage/rate limit: paused the whole queue until the reset");
    } else {
      void s.worker().pause(true);
      s.logger.warn({ until: new Date(untilMs).toISOString(), reason }, "usage/rate limit: this worker takes no jobs until the reset");
    }
    if (untilMs > this.until) {
      this.until = untilMs;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.resumeAfter(), Math.max(0, untilMs - Date.now()));
      this.timer.unref();
    }
    s.changed();
  }

  /** Resumes a queue that a limit paused once the reset has passed (any worker does it on its heartbeat). */
  async resumeQueueIfDue(): Promise<void> {
    const until = await this.s.redis.get(this.s.keys.pausedUntilKey);
    if (until === null || Number(until) > Date.now()) return;
    await this.s.queue.resume();
    await this.s.redis.del(this.s.keys.pausedUntilKey);
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private async resumeAfter(): Promise<void> {
    if (Date.now() < this.until) return;
    this.until = 0;
    if (this.s.onLimit === "queue") await this.resumeQueueIfDue();
    else if (!this.s.closing()) void this.s.worker().resume();
    this.s.logger.info("limit reset reached: taking jobs again");
  }
}
