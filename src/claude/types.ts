import type { Logger } from "../logger.js";
import type { GroupRegistry, OutputChunk, OutputFlow, ProcessResult } from "../process/index.js";
import type { ApiKeyMode, ClaudeCliOptions } from "./argv.js";
import type { ClaudeErrorType, ClaudeFailure } from "./classify.js";
import type { RetryConfig } from "./retry-policy.js";
import type { SessionResumeRecord, SessionToResume } from "./session.js";
import type { StreamEvent } from "./stream-parser.js";

/** The types at the border of a claude task: what a caller gives, what it is told, what it gets. */

export interface ClaudeTaskOptions extends ClaudeCliOptions {
  /** Ask for {result, summary, files_created, files_modified, execution_uuid} and parse it. */
  json?: boolean;
  /** Use the CLI's structured output (--json-schema) in JSON mode (default: true). */
  structuredOutput?: boolean;
  /** Wall-clock limit per attempt, seconds (default 1800). */
  timeout?: number;
  /** Seconds without any output before an attempt is killed (default: none; the timeout applies). */
  inactivityTimeout?: number;
  cwd?: string;
  env?: Record<string, string>;
  /** Anti-hallucination UUID check (default true). */
  uuid?: boolean;
  /** ANTHROPIC_API_KEY: pass on ("inherit", default) or remove ("strip": the Claude login is used). */
  apiKeyMode?: ApiKeyMode;
  retry?: Partial<RetryConfig>;
  /**
   * The CLI's own retries of a failed API call (CLAUDE_CODE_MAX_RETRIES, whatever the environment
   * says; default DEFAULT_API_RETRIES). Its default of 10 takes about 3 minutes on a permanent
   * error; fewer hand the failure to our classification and retry policy sooner.
   */
  apiRetries?: number;
  /** State directory; the run folder is <home>/runs/<execution id>. */
  home?: string;
  /** The claude binary (default: CLAUDE_BIN, else `claude` on PATH). */
  claudeBin?: string;
  executionId?: string;
  registry?: GroupRegistry;
  killGraceMs?: number;
  logger?: Logger;
  onEvent?: (event: ClaudeTaskEvent) => void;
  /** Backpressure from the receiver of the events: claude's stdout is not read while it is congested. */
  flow?: OutputFlow;
  /** The most this task may cost over all its attempts, US dollars (each attempt gets what is left as --max-budget-usd). */
  maxCostUsd?: number;
  /** The most tokens (input + output + cache reads and writes) this task may use over all its attempts. */
  maxTokens?: number;
  /** Start by continuing this Claude session (a task that failed or was interrupted before, e.g. in a task list). */
  resumeSession?: SessionToResume;
  /** A retry after real work continues the failed attempt's session (default true); false: every attempt starts afresh. */
  continueSessions?: boolean;
}

export interface TokenUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
}

/** The result of one claude task: the `--json` output of `cc-executor claude`. */
export interface ClaudeTaskResult {
  success: boolean;
  result: string;
  summary: string;
  files_created: string[];
  files_modified: string[];
  execution_id: string;
  execution_uuid: string | null;
  uuid_verified: boolean;
  attempts: number;
  usage: TokenUsage;
  cost_usd: number;
  duration_ms: number;
  num_turns: number;
  session_id: string | null;
  model: string | null;
  transcript_path: string;
  result_path: string;
  permission_denials: Array<{ tool_name: string; tool_input?: unknown }>;
  error_type?: ClaudeErrorType;
  message?: string;
  reset_timestamp?: number;
  retry_after?: number;
  /** Attempts that continued a Claude session, and those whose session could not be continued (a fresh start followed). */
  session_resumes?: SessionResumeRecord[];
}

export type ClaudeTaskEvent =
  | { type: "attempt_started"; attempt: number; pid: number; pgid: number; argv: string[] }
  | { type: "stream"; attempt: number; event: StreamEvent }
  | { type: "output"; attempt: number; chunk: OutputChunk }
  | { type: "attempt_ended"; attempt: number; process: ProcessResult }
  | { type: "error"; attempt: number; failure: ClaudeFailure }
  | { type: "retry"; attempt: number; delayMs: number; reason: string }
  | { type: "waiting_for_limit"; untilEpochMs: number; reason: string }
  /** This attempt continues a session (`resumed`), or could not and starts afresh (`fallback` says why). */
  | { type: "session"; attempt: number; sessionId: string; reason: string; resumed: boolean; fallback?: string }
  | { type: "completed"; result: ClaudeTaskResult };
