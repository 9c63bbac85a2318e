import { isUsageLimitText, resetFromLimitText } from "./limit-text.js";
import type { PermissionDenial, ResultMessage } from "./stream-types.js";

export type ClaudeErrorType =
  | "usage_limit"
  | "rate_limit"
  | "overloaded"
  /** Another 5xx answer from the API. */
  | "server_error"
  /** The API could not be reached (connection refused or reset, DNS, TLS). */
  | "connection_error"
  | "output_token_limit"
  | "prompt_too_long"
  | "auth"
  /** The API account has no credit left. */
  | "billing"
  /** The API refused the request as malformed (400) for another reason. */
  | "invalid_request"
  | "max_turns"
  /** claude refused to start (a refused flag or option, a session id in use, ...): nothing on stdout. */
  | "startup_error"
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
  /** The task's budget (--max-cost: the CLI's --max-budget-usd; --max-tokens) ran out. */
  | "budget_exceeded"
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

export interface ApiRetry {
  status: number | null;
  error?: string;
}

/** What one run of the claude process left behind, gathered from its stream. */
export interface RunObservation {
  result?: ResultMessage;
  /** `error` values of assistant messages (authentication_failed, billing_error, rate_limit, invalid_request, server_error, unknown, max_output_tokens). */
  assistantErrors: string[];
  /** HTTP statuses of every api_retry system message. */
  retryStatuses: Array<number | null>;
  /** api_retry messages since the model last answered: what claude was still retrying when it ended. */
  pendingRetries: ApiRetry[];
  /** A rate_limit_event with status "rejected" (a usage limit), with its reset time. */
  limitRejected?: { resetsAt?: number; limitType?: string };
  processStatus: "completed" | "failed" | "timeout" | "canceled";
  exitCode: number | null;
  /** Bytes claude wrote to stdout; 0 means it stopped before its stream began. */
  stdoutBytes: number;
  stderrTail: string;
  permissionDenials: PermissionDenial[];
  /** --max-turns as given for the run. */
  maxTurns?: number;
  /** The attempt was stopped because claude kept answering in text while the CLI demanded a StructuredOutput call. */
  structuredOutputRefused?: boolean;
  /** The CLI's init line arrived (a run refused at startup, e.g. an unknown session to resume, has none). */
  sawInit?: boolean;
  /** The model answered or a tool ran: there is work in the session worth continuing. */
  worked?: boolean;
  /** The attempt was stopped because its tokens went past the task's token budget (this many). */
  tokenBudgetExceeded?: { limit: number; used: number };
}

function formatReset(epochS: number): string {
  return new Date(epochS * 1000).toISOString().replace(".000Z", "Z");
}

const fail = (error_type: ClaudeErrorType, message: string, recoverable: boolean, extra: Partial<ClaudeFailure> = {}): ClaudeFailure => ({ error_type, message, recoverable, ...extra });

function usageLimit(reset: number | undefined): ClaudeFailure {
  return fail(
    "usage_limit",
    reset
      ? `Claude usage limit reached; it resets at ${formatReset(reset)}. Run again after that, or use --wait-on-limit to wait for it.`
      : "Claude usage limit reached; run again when it resets, or use --wait-on-limit to wait for it.",
    true,
    { reset_timestamp: reset },
  );
}

/** Newer CLIs name the cause in result.api_error; the kinds that decide what to do (unknown ones: read on). */
const API_ERROR_KINDS: Record<string, ClaudeErrorType> = {
  usage_limit_reached: "usage_limit",
  model_requires_usage_credits: "usage_limit",
  max_output_tokens: "output_token_limit",
  message_over_context_limit: "prompt_too_long",
  connection_failed: "connection_error",
  request_timeout: "connection_error",
  stream_idle_timeout: "connection_error",
  no_response: "connection_error",
  computer_slept: "connection_error",
  stored_login_refused: "auth",
  oauth_refresh_store_refused: "auth",
  provider_credentials: "auth",
  gateway_signin_required: "auth",
  gateway_session_expired: "auth",
  api_key_auth_disabled: "auth",
  org_disabled_credential: "auth",
  invalid_credential_header: "auth",
};

const AUTH_HINT = "Log in with `claude` then /login (Claude subscription), or set a valid ANTHROPIC_API_KEY.";

/** A failure named by an HTTP status (and the API's error type), as the result or an api_retry reports it. */
function fromApiStatus(status: number | null | undefined, apiType: string | null | undefined, text: string): ClaudeFailure | undefined {
  const detail = text ? ` (${text})` : "";
  if (apiType === "authentication_error" || apiType === "permission_error" || status === 401 || status === 403) return fail("auth", `claude is not authenticated${detail}. ${AUTH_HINT}`, false);
  if (apiType === "overloaded_error" || status === 529) return fail("overloaded", `The API is overloaded (529)${detail}.`, true);
  if (apiType === "rate_limit_error" || status === 429) return fail("rate_limit", `The API rate limit was hit (429)${detail}.`, true);
  if (apiType === "request_too_large" || status === 413) return fail("prompt_too_long", "The request is too large for the API; shorten the prompt or split the task.", false);
  if (apiType === "api_error" || (status !== null && status !== undefined && status >= 500)) return fail("server_error", `The API failed (${status ?? apiType})${detail}.`, true);
  return undefined;
}

/** A failure named by an assistant message's `error` value. */
function fromAssistantError(errors: Set<string>, text: string): ClaudeFailure | undefined {
  if (errors.has("authentication_failed")) return fail("auth", `claude is not authenticated (${text || "authentication failed"}). ${AUTH_HINT}`, false);
  if (errors.has("billing_error")) return fail("billing", `The API account cannot pay for this (${text || "billing error"}): add credit or use another account; retrying will not help.`, false);
  if (errors.has("max_output_tokens")) return fail("output_token_limit", "claude's answer exceeded the output token maximum.", true);
  if (errors.has("rate_limit")) return fail("rate_limit", `The API rate limit was hit${text ? ` (${text})` : ""}.`, true);
  if (errors.has("server_error")) return /\b529\b|overloaded/i.test(text) ? fail("overloaded", `The API is overloaded (${text}).`, true) : fail("server_error", `The API failed (${text || "server error"}).`, true);
  if (errors.has("invalid_request")) return fail("invalid_request", `The API refused the request: ${text || "invalid request"}`, false);
  return undefined;
}

/**
 * Classifies a run from the structured stream: the result's subtype, terminal_reason and API error
 * fields, rate_limit_event, the `error` code of assistant messages; the result text only for what
 * the CLI says in text alone (a usage limit without its event, a connection error); stderr only for
 * a process that ended without a result. Returns undefined for a clean success.
 */
export function classifyOutcome(run: RunObservation): ClaudeFailure | undefined {
  if (run.tokenBudgetExceeded) return fail("budget_exceeded", `the task's token budget ran out: ${run.tokenBudgetExceeded.used} tokens used of the ${run.tokenBudgetExceeded.limit} left for this attempt; it was stopped`, false);
  if (run.processStatus === "canceled") return fail("canceled", "canceled", false);
  if (run.processStatus === "timeout") return classifyTimeout(run);
  const result = run.result;
  const text = result?.result ?? "";
  if (run.limitRejected) return usageLimit(run.limitRejected.resetsAt);
  if (!result) return run.stdoutBytes === 0 && run.exitCode !== 0 ? startupError(run) : crash(run);
  if (!result.is_error && result.subtype === "success") return undefined;

  const kind = result.api_error ? API_ERROR_KINDS[result.api_error] : undefined;
  if (kind === "usage_limit" || ((result.api_error_status === 429 || run.assistantErrors.includes("rate_limit")) && isUsageLimitText(text))) {
    return usageLimit(resetFromLimitText(text));
  }
  if (result.subtype === "error_max_turns" || result.terminal_reason === "max_turns") {
    const limit = run.maxTurns ?? Number(/\((\d+)\)/.exec(result.errors?.join(" ") ?? "")?.[1] ?? NaN);
    return fail("max_turns", `claude reached the turn limit${Number.isFinite(limit) ? ` of ${limit} (--max-turns ${limit})` : " (--max-turns)"} before finishing; raise it or narrow the task.`, false);
  }
  if (result.subtype === "error_max_budget_usd") return fail("budget_exceeded", `the task's budget ran out: ${result.errors?.join("; ") || "maximum budget reached"} (spent $${result.total_cost_usd ?? "?"} in this attempt)`, false);
  if (result.subtype === "error_max_structured_output_retries") return fail("invalid_json", `claude did not produce the structured output: ${result.errors?.join("; ") ?? result.subtype}`, true);
  if (result.terminal_reason === "prompt_too_long") return fail("prompt_too_long", "The prompt is too long for the model's context window; shorten it or split the task.", false);
  const errors = new Set(run.assistantErrors);
  if (kind === "output_token_limit") errors.add("max_output_tokens");
  if (kind === "auth") errors.add("authentication_failed");
  if (kind === "prompt_too_long") return fail("prompt_too_long", "The prompt is too long for the model's context window; shorten it or split the task.", false);
  if (kind === "connection_error") return fail("connection_error", `The API could not be reached (${text || result.api_error}).`, true);
  if (errors.has("billing_error")) return fromAssistantError(errors, text);
  const failure = fromApiStatus(result.api_error_status, result.api_error_type, text) ?? fromAssistantError(errors, text);
  if (failure) return failure;
  if (/prompt is too long/i.test(text)) return fail("prompt_too_long", "The prompt is too long for the model's context window; shorten it or split the task.", false);
  if (/unable to connect to api|connection (error|refused)|ECONNREFUSED|ETIMEDOUT/i.test(text)) return fail("connection_error", `The API could not be reached (${text}).`, true);
  const why = text || result.errors?.join("; ") || `claude reported an error (${result.subtype})`;
  return fail("unknown", why, false);
}

/**
 * A run its timeout ended. When claude was still retrying an API error at that moment (its own
 * retries outlasted our timeout), that error is what happened, not the timeout.
 */
function classifyTimeout(run: RunObservation): ClaudeFailure {
  const last = run.pendingRetries.at(-1);
  const plain = fail("timeout", "claude did not finish within its timeout; the process group was killed", true);
  if (!last) return plain;
  const note = `claude was still retrying it (${run.pendingRetries.length} retries) when its timeout ended the run`;
  const failure =
    fromApiStatus(last.status, undefined, "") ??
    (last.status === null ? fail("connection_error", "The API could not be reached", true) : fail("unknown", `The API answered ${last.status}`, false));
  return { ...failure, message: `${failure.message.replace(/\.$/, "")}; ${note}.` };
}

const ROOT_REFUSAL = /cannot be used with root\/sudo privileges/i;

/** claude stopped before its stream began: its own message, and what to do about it. */
function startupError(run: RunObservation): ClaudeFailure {
  const said = run.stderrTail.trim().split("\n").filter(Boolean).slice(-3).join(" | ");
  let hint = "";
  if (ROOT_REFUSAL.test(said)) {
    hint = " claude refuses bypassPermissions (--dangerously-skip-permissions) as root: run cc-executor as a non-root user, or, only inside a sandbox, set IS_SANDBOX=1 in claude's environment.";
  }
  return fail("startup_error", `claude refused to start (exit code ${run.exitCode ?? "none"}): ${said || "no message"}.${hint}`, false);
}

function crash(run: RunObservation): ClaudeFailure {
  const tail = run.stderrTail.trim().split("\n").slice(-3).join(" | ");
  return fail("crash", `claude exited (code ${run.exitCode ?? "none"}) without a result${tail ? `: ${tail}` : ""}`, true);
}
