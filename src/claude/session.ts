import type { ClaudeErrorType, RunObservation } from "./classify.js";

/**
 * Continuing a Claude session: when an attempt fails after real work, the next one starts a fresh
 * process with `--resume <session id>` and a short "continue and finish" prompt, so that the work
 * done and the tokens paid are not thrown away. The CLI replays the session's conversation to the
 * API (observed with 2.1.112: same session id, earlier turns in the request, also after kill -9).
 */

/** A session to continue, and why the previous attempt ended. */
export interface SessionToResume {
  sessionId: string;
  reason: string;
}

/** One attempt that tried to continue a session: whether the CLI took it, and if not, why a fresh start followed. */
export interface SessionResumeRecord {
  attempt: number;
  session_id: string;
  reason: string;
  resumed: boolean;
  /** Why the session could not be continued (the attempt then started afresh). */
  fallback?: string;
}

/**
 * Failures after which the next attempt continues the session: interrupted work (timeout, cancel,
 * crash, limits and API errors that struck mid-run, a budget that ran out) and answers that only
 * need finishing (no UUID, invalid JSON, cut at the output limit). Not failures a continuation
 * would repeat (auth, billing, prompt too long, max turns, refused requests).
 */
const CONTINUABLE: ReadonlySet<string> = new Set<ClaudeErrorType | "budget_exhausted">([
  "timeout",
  "canceled",
  "crash",
  "usage_limit",
  "rate_limit",
  "overloaded",
  "server_error",
  "connection_error",
  "output_token_limit",
  "uuid_verification_failed",
  "invalid_json",
  "budget_exceeded",
  "budget_exhausted",
]);

export function continuesSession(errorType: string | undefined): boolean {
  return errorType !== undefined && CONTINUABLE.has(errorType);
}

/** Session ids as the CLI names them (UUIDs): a value that starts with "-" would be read as another flag after --resume. */
export const SESSION_ID = /^[0-9A-Za-z][\w-]{0,127}$/;

/** The prompt of an attempt that continues a session (the execution UUID and JSON instructions are added after it, as for any attempt). */
export function continuePrompt(reason: string): string {
  return (
    `Your previous run of this task stopped before it was finished (${reason}). ` +
    "Continue from where you stopped and finish the task: do not redo work that is already done, check what is there if unsure. " +
    "Then give your final answer as the task asked."
  );
}

/** The CLI refused to continue the session (it does not know it: not saved, deleted; 2.1.112 also: saved in another directory): why, or undefined. */
export function resumeRefusal(run: RunObservation): string | undefined {
  const said = /No conversation found with session ID: \S+/.exec(run.stderrTail)?.[0];
  if (said) return said;
  // Any other refusal looks the same: an error result before a single turn, without an init line.
  if (run.result?.is_error && (run.result.num_turns ?? 0) === 0 && run.sawInit === false) return run.result.errors?.join("; ") || run.stderrTail.trim().split("\n").at(-1) || "the CLI did not continue the session";
  return undefined;
}
