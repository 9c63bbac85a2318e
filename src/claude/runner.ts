import { randomUUID } from "node:crypto";
import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import { silentLogger } from "../logger.js";
import { defaultHome, statePaths } from "../paths.js";
import type { SupervisedProcess } from "../process/index.js";
import { buildClaudeArgv, promptGoesOnStdin, resolveClaudeBinary, ClaudeBinaryNotFoundError, type ClaudeCliOptions } from "./argv.js";
import { runAttempt } from "./attempt.js";
import { classifyOutcome, type ClaudeFailure, type RunObservation } from "./classify.js";
import { concisenessInstruction, extractJsonResult, jsonModeInstruction, JSON_ANSWER_SCHEMA } from "./json-result.js";
import { decideRetry, DEFAULT_RETRY, type RetryConfig } from "./retry-policy.js";
import type { ClaudeTaskEvent, ClaudeTaskOptions, ClaudeTaskResult, TokenUsage } from "./types.js";
import { newExecutionUuid, uuidInstruction, verifyUuid } from "./uuid.js";
import { continuePrompt, continuesSession, resumeRefusal, SESSION_ID, type SessionResumeRecord, type SessionToResume } from "./session.js";
import { addUsage, noUsage, resultUsage, tokensOf } from "./usage.js";

export type { ClaudeTaskEvent, ClaudeTaskOptions, ClaudeTaskResult, TokenUsage } from "./types.js";

/** errno codes of a spawn that mean "no such program" (others are reported as a startup error). */
const NOT_FOUND_CODES = new Set(["ENOENT", "EACCES", "ENOEXEC", "ENOTDIR"]);

/**
 * One claude task: a fresh `claude -p` process per attempt, supervised (own process group, stdin
 * closed, timeout and cancel kill the group), its stream parsed, its failures classified and
 * retried per policy, its answer checked against the execution UUID. Never throws for a failed
 * run: the result says what happened.
 */
export class ClaudeTask {
  readonly executionId: string;
  readonly result: Promise<ClaudeTaskResult>;
  private current: SupervisedProcess | undefined;
  private canceled = false;
  private pausedFlag = false;
  private wakeWait: (() => void) | undefined;

  constructor(
    readonly prompt: string,
    private readonly options: ClaudeTaskOptions = {},
  ) {
    this.executionId = options.executionId ?? randomUUID();
    this.result = this.run();
  }

  pause(): boolean {
    if (this.current?.pause()) return (this.pausedFlag = true);
    return false;
  }

  resume(): boolean {
    if (this.current?.resume()) {
      this.pausedFlag = false;
      return true;
    }
    return false;
  }

  cancel(): Promise<ClaudeTaskResult> {
    this.canceled = true;
    this.wakeWait?.();
    void this.current?.cancel();
    return this.result;
  }

  get paused(): boolean {
    return this.pausedFlag;
  }

  private emit(event: ClaudeTaskEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch (err) {
      (this.options.logger ?? silentLogger).warn({ err }, "onEvent listener threw");
    }
  }

  private async run(): Promise<ClaudeTaskResult> {
    // Start on the next turn of the event loop: whoever created the task (e.g. a server method
    // answering "started") gets to finish its synchronous work before the first event.
    await new Promise((resolve) => setImmediate(resolve));
    const o = this.options;
    const startedAt = Date.now();
    const runDir = join(statePaths(o.home ?? defaultHome()).runsDir, this.executionId);
    const transcriptPath = join(runDir, "transcript.jsonl");
    const resultPath = join(runDir, "result.json");
    const retry: RetryConfig = { ...DEFAULT_RETRY, ...o.retry };
    const uuid = o.uuid === false ? null : newExecutionUuid();
    const totals: TokenUsage = noUsage();
    let cost = 0;
    // The session the next attempt continues (a retry after real work, or one given by the caller), and what came of each.
    // A session to continue must look like one: it goes into argv after --resume.
    let resume: SessionToResume | undefined = o.resumeSession && SESSION_ID.test(o.resumeSession.sessionId) ? o.resumeSession : undefined;
    const resumes: SessionResumeRecord[] = [];
    if (o.resumeSession && !resume) resumes.push({ attempt: 1, session_id: o.resumeSession.sessionId, reason: o.resumeSession.reason, resumed: false, fallback: "not a Claude session id" });
    let refusedResumes = 0;
    let attempt = 0;
    let conciseSteps = 0;
    // JSON from the answer's text instead of the CLI's structured output (asked for, or after claude would not call StructuredOutput).
    let structuredOff = o.structuredOutput === false;
    let workedSession: string | undefined = o.resumeSession?.sessionId;
    let last: { observation?: RunObservation; failure?: ClaudeFailure; text: string; structured?: unknown; sessionId?: string; model?: string } = { text: "" };

    const finish = (fields: Partial<ClaudeTaskResult> & { success: boolean }): ClaudeTaskResult => {
      const r = last.observation?.result;
      let answer = { result: stripUuid(last.text, uuid), summary: "", files_created: [] as string[], files_modified: [] as string[] };
      if (o.json && fields.success) {
        const extracted = last.structured !== undefined ? extractJsonResult(JSON.stringify(last.structured)) : extractJsonResult(last.text);
        if (extracted.ok) answer = { result: extracted.value.result, summary: extracted.value.summary, files_created: extracted.value.files_created, files_modified: extracted.value.files_modified };
      }
      const { success, ...outcome } = fields;
      const result: ClaudeTaskResult = {
        success,
        result: answer.result,
        summary: answer.summary || summarize(answer.result),
        files_created: answer.files_created,
        files_modified: answer.files_modified,
        execution_id: this.executionId,
        execution_uuid: uuid,
        uuid_verified: false,
        attempts: attempt,
        usage: totals,
        cost_usd: round6(cost),
        duration_ms: Date.now() - startedAt,
        num_turns: r?.num_turns ?? 0,
        session_id: last.sessionId ?? r?.session_id ?? resume?.sessionId ?? null,
        model: last.model ?? null,
        transcript_path: transcriptPath,
        result_path: resultPath,
        permission_denials: (last.observation?.permissionDenials ?? []).map((d) => ({ tool_name: d.tool_name, tool_input: d.tool_input })),
        ...(resumes.length ? { session_resumes: resumes } : {}),
        ...outcome,
      };
      if (!result.success && result.error_type === "invalid_json") result.result = last.text;
      try {
        mkdirSync(runDir, { recursive: true, mode: 0o700 });
        writeFileSync(resultPath, `${JSON.stringify(result, null, 2)}\n`);
      } catch (err) {
        (o.logger ?? silentLogger).warn({ err: (err as Error).message }, "cannot save the result file");
      }
      this.emit({ type: "completed", result });
      return result;
    };

    let bin: string;
    try {
      bin = o.claudeBin ?? resolveClaudeBinary(o.env ? { ...process.env, ...o.env } : process.env);
    } catch (err) {
      if (err instanceof ClaudeBinaryNotFoundError) return finish({ success: false, error_type: "binary_not_found", message: err.message });
      throw err;
    }
    let transcript: WriteStream | undefined;
    try {
      mkdirSync(runDir, { recursive: true, mode: 0o700 });
      transcript = createWriteStream(transcriptPath, { flags: "a" });
      transcript.on("error", () => (transcript = undefined));
    } catch {
      transcript = undefined;
    }

    try {
      for (;;) {
        const left = budgetLeft(o, cost, tokensOf(totals));
        if (left.spent) return finish({ success: false, error_type: "budget_exceeded", message: left.spent });
        attempt++;
        let prompt = resume ? continuePrompt(resume.reason) : this.prompt;
        if (o.json) prompt += jsonModeInstruction();
        if (uuid) prompt += uuidInstruction(uuid, Boolean(o.json));
        if (conciseSteps > 0) prompt += concisenessInstruction(conciseSteps as 1 | 2);
        const cli: ClaudeCliOptions = { ...o };
        if (o.json && !structuredOff && !o.jsonSchema) cli.jsonSchema = JSON_ANSWER_SCHEMA;
        // A prompt too long for one argument (E2BIG) goes on stdin, which the CLI reads under -p.
        const onStdin = promptGoesOnStdin(prompt);
        const argv = buildClaudeArgv(onStdin ? undefined : prompt, cli, { resume: resume?.sessionId, maxBudgetUsd: left.costUsd });
        if (this.canceled) return finish({ success: false, error_type: "canceled", message: "canceled" });
        if (resume) this.emit({ type: "session", attempt, sessionId: resume.sessionId, reason: resume.reason, resumed: true });
        const outcome = await runAttempt({ bin, argv, stdin: onStdin ? prompt : undefined, attempt, options: o, transcript, tokenLimit: left.tokens, emit: (e) => this.emit(e), started: (proc) => this.started(proc) });
        this.current = undefined;
        if ("spawnError" in outcome) {
          const notFound = outcome.code === undefined || NOT_FOUND_CODES.has(outcome.code);
          return finish({ success: false, error_type: notFound ? "binary_not_found" : "startup_error", message: outcome.spawnError });
        }
        const { observation, text, structured, sessionId, model } = outcome;
        const res = observation.result;
        // A run killed before its result (timeout, cancel, token budget) is counted from its stream.
        addUsage(totals, res ? resultUsage(res) : outcome.liveUsage);
        cost += res?.total_cost_usd ?? 0;
        if (resume) {
          const refused = resumeRefusal(observation);
          if (refused && !this.canceled) {
            // The session cannot be continued: start this attempt again, afresh (not counted against the retries).
            resumes.push({ attempt, session_id: resume.sessionId, reason: resume.reason, resumed: false, fallback: refused });
            this.emit({ type: "session", attempt, sessionId: resume.sessionId, reason: resume.reason, resumed: false, fallback: refused });
            resume = undefined;
            refusedResumes++;
            continue;
          }
          resumes.push({ attempt, session_id: resume.sessionId, reason: resume.reason, resumed: true });
        }
        last = { observation, text, structured, sessionId, model };
        if (sessionId && observation.worked) workedSession = sessionId;

        // claude answered in text instead of calling StructuredOutput and the attempt was stopped
        // (the CLI would ask again forever): read the JSON from the text, now and from now on.
        if (observation.structuredOutputRefused) structuredOff = true;
        let failure = observation.structuredOutputRefused ? undefined : classifyOutcome(observation);
        if (!failure && o.json) {
          const extracted = structured !== undefined ? extractJsonResult(JSON.stringify(structured)) : extractJsonResult(text);
          if (!extracted.ok) failure = { error_type: "invalid_json", message: `claude did not answer with the requested JSON: ${extracted.error} (raw answer saved in ${resultPath})`, recoverable: true };
        }
        if (!failure && uuid && !verifyUuid(text, uuid, structured)) {
          failure = { error_type: "uuid_verification_failed", message: `the answer does not carry this execution's UUID ${uuid}: it cannot be trusted to come from this run`, recoverable: true };
        }
        if (!failure) return finish({ success: true, uuid_verified: uuid !== null });
        last.failure = failure;
        this.emit({ type: "error", attempt, failure });
        if (this.canceled || failure.error_type === "canceled") return finish({ success: false, error_type: "canceled", message: "canceled" });

        const decision = decideRetry(failure, attempt - refusedResumes, retry, { conciseSteps });
        if (decision.action === "fail") return finish({ success: false, error_type: failure.error_type, message: failure.message, reset_timestamp: failure.reset_timestamp, retry_after: failure.retry_after });
        if (decision.action === "wait_until") {
          this.emit({ type: "waiting_for_limit", untilEpochMs: decision.untilEpochMs, reason: decision.reason });
          await this.sleep(decision.untilEpochMs - Date.now());
        } else {
          if (decision.concise) conciseSteps = decision.concise;
          this.emit({ type: "retry", attempt, delayMs: decision.delayMs, reason: decision.reason });
          await this.sleep(decision.delayMs);
        }
        if (this.canceled) return finish({ success: false, error_type: "canceled", message: "canceled" });
        // The next attempt continues this one's session when it holds work (this attempt's, or an earlier one's it continued).
        const session = sessionId ?? resume?.sessionId;
        resume = o.continueSessions !== false && session && session === workedSession && continuesSession(failure.error_type) ? { sessionId: session, reason: `${failure.error_type}: ${failure.message}` } : undefined;
      }
    } finally {
      transcript?.end();
    }
  }

  /** Waits, but wakes up at once on cancel. */
  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeWait = done;
    });
  }

  private started(proc: SupervisedProcess): void {
    this.current = proc;
    if (this.canceled) void proc.cancel();
  }
}

export function startClaudeTask(prompt: string, options: ClaudeTaskOptions = {}): ClaudeTask {
  return new ClaudeTask(prompt, options);
}

/** Runs one claude task to the end and returns its result (never throws for a failed run). */
export function ccExecute(prompt: string, options: ClaudeTaskOptions = {}): Promise<ClaudeTaskResult> {
  return new ClaudeTask(prompt, options).result;
}

/** What is left of the task's budget for the next attempt, or why nothing is. */
function budgetLeft(o: ClaudeTaskOptions, costSpent: number, tokensSpent: number): { costUsd?: number; tokens?: number; spent?: string } {
  const left: { costUsd?: number; tokens?: number; spent?: string } = {};
  if (o.maxCostUsd !== undefined) {
    left.costUsd = round6(o.maxCostUsd - costSpent);
    if (left.costUsd <= 0) left.spent = `the task's budget of $${o.maxCostUsd} is spent ($${round6(costSpent)})`;
  }
  if (o.maxTokens !== undefined) {
    left.tokens = o.maxTokens - tokensSpent;
    if (left.tokens <= 0) left.spent ??= `the task's budget of ${o.maxTokens} tokens is spent (${tokensSpent})`;
  }
  return left;
}

function stripUuid(text: string, uuid: string | null): string {
  if (!uuid) return text;
  return text.split(uuid).join("").replace(/\s+$/, "");
}

function summarize(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > 300 ? `${oneLine.slice(0, 297)}...` : oneLine;
}

function round6(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
