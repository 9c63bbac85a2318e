import type { ClaudeErrorType } from "./classify.js";

export interface RetryConfig {
  /** Attempts in all, the first one included (default 3). */
  maxAttempts: number;
  /** First backoff delay for 429/529/5xx/connection errors; doubles each attempt (default 5 s). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Wait for a usage limit to reset instead of failing (default false). */
  waitOnLimit: boolean;
  /** Longest wait for a usage-limit reset (default 6 h). */
  maxLimitWaitMs: number;
}

export const DEFAULT_RETRY: RetryConfig = { maxAttempts: 3, baseDelayMs: 5000, maxDelayMs: 120_000, waitOnLimit: false, maxLimitWaitMs: 6 * 3600_000 };

export type RetryDecision =
  | { action: "retry"; delayMs: number; reason: string; concise?: 1 | 2 }
  | { action: "wait_until"; untilEpochMs: number; reason: string }
  | { action: "fail" };

/**
 * What to do after a failed attempt (`attempt` is 1-based, the one that just failed).
 * Pure: the random source is injected so tests are deterministic.
 */
export function decideRetry(
  failure: { error_type: ClaudeErrorType; reset_timestamp?: number; retry_after?: number },
  attempt: number,
  config: RetryConfig,
  state: { conciseSteps: number; now?: number; random?: () => number },
): RetryDecision {
  const random = state.random ?? Math.random;
  const now = state.now ?? Date.now();
  const more = attempt < config.maxAttempts;
  switch (failure.error_type) {
    case "rate_limit":
    case "overloaded":
    case "server_error":
    case "connection_error": {
      if (!more) return { action: "fail" };
      if (failure.retry_after !== undefined) return { action: "retry", delayMs: failure.retry_after * 1000, reason: `${failure.error_type}: retry-after ${failure.retry_after}s` };
      // Exponential backoff with full jitter: spreads retries of many clients hitting the same limit.
      const cap = Math.min(config.maxDelayMs, config.baseDelayMs * 2 ** (attempt - 1));
      return { action: "retry", delayMs: Math.round(cap / 2 + (random() * cap) / 2), reason: `${failure.error_type}: backing off` };
    }
    case "output_token_limit":
      if (!more || state.conciseSteps >= 2) return { action: "fail" };
      return { action: "retry", delayMs: 0, reason: "output token limit: asking for a more concise answer", concise: (state.conciseSteps + 1) as 1 | 2 };
    case "uuid_verification_failed":
    case "invalid_json":
    case "crash":
      return more ? { action: "retry", delayMs: 0, reason: failure.error_type } : { action: "fail" };
    case "usage_limit": {
      if (!more || !config.waitOnLimit || failure.reset_timestamp === undefined) return { action: "fail" };
      const until = failure.reset_timestamp * 1000 + 5000; // a little after the reset
      if (until - now > config.maxLimitWaitMs) return { action: "fail" };
      return { action: "wait_until", untilEpochMs: until, reason: "usage limit: waiting for the reset" };
    }
    default:
      return { action: "fail" };
  }
}
