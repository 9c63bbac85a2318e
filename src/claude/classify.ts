import type { PermissionDenial, ResultMessage } from "./stream-types.js";

export type ClaudeErrorType =
  | "usage_limit"
  | "rate_limit"
  | "overloaded"
  | "output_token_limit"
  | "prompt_too_long"
  | "auth"
  | "max_turns"
  | "crash"
  | "timeout"
  | "canceled"
  | "binary_not_found"
  | "uuid_verification_failed"
  | "invalid_json"
  /** A post-claude hook rejected the result (e.g. the project's tests fail). */
  | "hook_rejected"
  /** A pre-claude hook refused to run the task. */
  | "hook_refused"
  | "unknown";

export interface ClaudeFailure {
  error_type: ClaudeErrorType;
  message: string;
  recoverable: boolean;
  /** Epoch seconds when a usage limit resets, when known. */
  reset_timestamp?: number;
  /** Seconds to wait before retrying, when known. */
  retry_after?: number;
}

/** What one run of the claude process left behind, gathered from its stream. */
export interface RunObservation {
  result?: ResultMessage;
  /** `error` values of assistant messages (authentication_failed, rate_limit, overloaded, max_output_tokens, ...). */
  assistantErrors: string[];
  /** HTTP statuses of api_retry system messages. */
  retryStatuses: Array<number | null>;
  /** A rate_limit_event with status "rejected" (a usage limit), with its reset time. */
  limitRejected?: { resetsAt?: number; limitType?: string };
  processStatus: "completed" | "failed" | "timeout" | "canceled";
  exitCode: number | null;
  stderrTail: string;
  permissionDenials: PermissionDenial[];
}

function formatReset(epochS: number): string {
  return new Date(epochS * 1000).toISOString().replace(".000Z", "Z");
}

/**
 * Classifies a run from the structured stream first (result subtype, terminal_reason, assistant
 * error codes, api_retry statuses, rate_limit_event) and from the result text only for what the
 * CLI reports as text alone; stderr is the last resort, for a process that died without a result.
 * Returns undefined for a clean success.
 */
export function classifyOutcome(run: RunObservation): ClaudeFailure | undefined {
  if (run.processStatus === "timeout") return { error_type: "timeout", message: "claude did not finish within its timeout; the process group was killed", recoverable: true };
  if (run.processStatus === "canceled") return { error_type: "canceled", message: "canceled", recoverable: false };
  const result = run.result;
  const text = result?.result ?? "";
  const errors = new Set(run.assistantErrors);

  const usageLimit = /usage limit reached\|?(\d{9,})?|limit reached.{0,8}resets/i.exec(text);
  if (run.limitRejected || (result?.is_error && usageLimit)) {
    const reset = run.limitRejected?.resetsAt ?? (usageLimit?.[1] ? Number(usageLimit[1]) : undefined);
    return {
      error_type: "usage_limit",
      message: reset
        ? `Claude usage limit reached; it resets at ${formatReset(reset)}. Run again after that, or use --wait-on-limit to wait for it.`
        : "Claude usage limit reached; run again when it resets, or use --wait-on-limit to wait for it.",
      recoverable: true,
      reset_timestamp: reset,
    };
  }
  if (result && !result.is_error && result.subtype === "success") return undefined;

  if (errors.has("authentication_failed") || errors.has("oauth_org_not_allowed") || /invalid api key|please run \/login|not logged in|authentication/i.test(text)) {
    return { error_type: "auth", message: `claude is not authenticated (${text || "authentication failed"}). Log in with \`claude\` then /login (Claude Max), or set a valid ANTHROPIC_API_KEY.`, recoverable: false };
  }
  if (result?.terminal_reason === "prompt_too_long" || /prompt is too long/i.test(text)) {
    return { error_type: "prompt_too_long", message: "The prompt is too long for the model's context window; shorten it or split the task.", recoverable: false };
  }
  if (result?.subtype === "error_max_turns" || result?.terminal_reason === "max_turns") {
    return { error_type: "max_turns", message: `claude stopped after ${result.num_turns ?? "?"} turns (--max-turns); raise the limit or narrow the task.`, recoverable: false };
  }
  if (errors.has("max_output_tokens") || /output token maximum/i.test(text)) {
    return { error_type: "output_token_limit", message: "claude's answer exceeded the output token maximum.", recoverable: true };
  }
  const lastStatus = run.retryStatuses.at(-1);
  if (errors.has("overloaded") || lastStatus === 529 || /\b529\b|overloaded_error/i.test(text)) {
    return { error_type: "overloaded", message: "The API is overloaded (529).", recoverable: true };
  }
  if (errors.has("rate_limit") || lastStatus === 429 || /\b429\b|rate_limit_error/i.test(text)) {
    const retryAfter = /retry.after\D{0,3}(\d+)/i.exec(text);
    return { error_type: "rate_limit", message: "The API rate limit was hit (429).", recoverable: true, retry_after: retryAfter ? Number(retryAfter[1]) : undefined };
  }
  if (!result) {
    const tail = run.stderrTail.trim().split("\n").slice(-3).join(" | ");
    return { error_type: "crash", message: `claude exited (code ${run.exitCode ?? "none"}) without a result${tail ? `: ${tail}` : ""}`, recoverable: true };
  }
  return { error_type: "unknown", message: text || `claude reported an error (${result.subtype})`, recoverable: false };
}
