import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from "node:fs";
import { join } from "node:path";
import { silentLogger, type Logger } from "../logger.js";
import { defaultHome, statePaths } from "../paths.js";
import { applyFlow, startProcess, type GroupRegistry, type OutputChunk, type OutputFlow, type ProcessResult, type SupervisedProcess } from "../process/index.js";
import { buildClaudeArgv, claudeEnv, resolveClaudeBinary, ClaudeBinaryNotFoundError, type ApiKeyMode, type ClaudeCliOptions } from "./argv.js";
import { classifyOutcome, type ClaudeErrorType, type ClaudeFailure, type RunObservation } from "./classify.js";
import { concisenessInstruction, extractJsonResult, jsonModeInstruction, JSON_ANSWER_SCHEMA } from "./json-result.js";
import { decideRetry, DEFAULT_RETRY, type RetryConfig } from "./retry-policy.js";
import { StreamJsonParser, type StreamEvent } from "./stream-parser.js";
import { newExecutionUuid, uuidInstruction, verifyUuid } from "./uuid.js";
import { randomUUID } from "node:crypto";

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
}

export type ClaudeTaskEvent =
  | { type: "attempt_started"; attempt: number; pid: number; pgid: number; argv: string[] }
  | { type: "stream"; attempt: number; event: StreamEvent }
  | { type: "output"; attempt: number; chunk: OutputChunk }
  | { type: "attempt_ended"; attempt: number; process: ProcessResult }
  | { type: "error"; attempt: number; failure: ClaudeFailure }
  | { type: "retry"; attempt: number; delayMs: number; reason: string }
  | { type: "waiting_for_limit"; untilEpochMs: number; reason: string }
  | { type: "completed"; result: ClaudeTaskResult };

const DEFAULT_TIMEOUT_S = 1800;

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
    const totals: TokenUsage = { input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };
    let cost = 0;
    let attempt = 0;
    let conciseSteps = 0;
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
        session_id: last.sessionId ?? r?.session_id ?? null,
        model: last.model ?? null,
        transcript_path: transcriptPath,
        result_path: resultPath,
        permission_denials: (last.observation?.permissionDenials ?? []).map((d) => ({ tool_name: d.tool_name, tool_input: d.tool_input })),
        ...outcome,
      };
      if (!result.success && result.error_type === "invalid_json") result.result = last.text;
      try {
        mkdirSync(runDir, { recursive: true });
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
      mkdirSync(runDir, { recursive: true });
      transcript = createWriteStream(transcriptPath, { flags: "a" });
      transcript.on("error", () => (transcript = undefined));
    } catch {
      transcript = undefined;
    }

    try {
      for (;;) {
        attempt++;
        let prompt = this.prompt;
        if (o.json) prompt += jsonModeInstruction();
        if (uuid) prompt += uuidInstruction(uuid, Boolean(o.json));
        if (conciseSteps > 0) prompt += concisenessInstruction(conciseSteps as 1 | 2);
        const cli: ClaudeCliOptions = { ...o };
        if (o.json && o.structuredOutput !== false && !o.jsonSchema) cli.jsonSchema = JSON_ANSWER_SCHEMA;
        const argv = buildClaudeArgv(prompt, cli);
        const outcome = await this.attempt(bin, argv, attempt, transcript);
        if (outcome === "canceled-before-start") return finish({ success: false, error_type: "canceled", message: "canceled" });
        if ("spawnError" in outcome) return finish({ success: false, error_type: "binary_not_found", message: outcome.spawnError });
        const { observation, text, structured, sessionId, model } = outcome;
        const res = observation.result;
        if (res?.usage) {
          totals.input_tokens += res.usage.input_tokens ?? 0;
          totals.output_tokens += res.usage.output_tokens ?? 0;
          totals.cache_read_input_tokens += res.usage.cache_read_input_tokens ?? 0;
          totals.cache_creation_input_tokens += res.usage.cache_creation_input_tokens ?? 0;
        }
        cost += res?.total_cost_usd ?? 0;
        last = { observation, text, structured, sessionId, model };

        let failure = classifyOutcome(observation);
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

        const decision = decideRetry(failure, attempt, retry, { conciseSteps });
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

  private async attempt(
    bin: string,
    argv: string[],
    attempt: number,
    transcript: WriteStream | undefined,
  ): Promise<
    | "canceled-before-start"
    | { spawnError: string }
    | { observation: RunObservation; text: string; structured?: unknown; sessionId?: string; model?: string }
  > {
    const o = this.options;
    if (this.canceled) return "canceled-before-start";
    let proc: SupervisedProcess;
    try {
      proc = await startProcess({
        command: [bin, ...argv],
        cwd: o.cwd,
        env: o.env,
        removeEnv: ["CC_EXECUTOR_TOKEN", ...claudeEnv(o.apiKeyMode ?? "inherit").remove],
        timeoutMs: (o.timeout ?? DEFAULT_TIMEOUT_S) * 1000,
        inactivityTimeoutMs: o.inactivityTimeout !== undefined ? o.inactivityTimeout * 1000 : undefined,
        killGraceMs: o.killGraceMs,
        maxBufferBytes: 256 * 1024, // the stream is parsed as it comes; only a tail is kept for diagnostics
        registry: o.registry,
        logger: o.logger,
      });
    } catch (err) {
      return { spawnError: `cannot start ${bin}: ${(err as Error).message}` };
    }
    this.current = proc;
    applyFlow(proc, o.flow);
    if (this.canceled) void proc.cancel();
    this.emit({ type: "attempt_started", attempt, pid: proc.pid, pgid: proc.pgid, argv });

    const parser = new StreamJsonParser();
    const observation: RunObservation = { assistantErrors: [], retryStatuses: [], processStatus: "completed", exitCode: null, stderrTail: "", permissionDenials: [] };
    const texts: string[] = [];
    let sessionId: string | undefined;
    let model: string | undefined;
    const handle = (events: StreamEvent[]) => {
      for (const ev of events) {
        switch (ev.kind) {
          case "init":
            sessionId = ev.sessionId;
            model = ev.model;
            break;
          case "assistant_text":
            if (ev.text) texts.push(ev.text);
            if (ev.error) observation.assistantErrors.push(ev.error);
            break;
          case "api_retry":
            observation.retryStatuses.push(ev.status);
            break;
          case "rate_limit":
            if (ev.status === "rejected") observation.limitRejected = { resetsAt: ev.resetsAt, limitType: ev.limitType };
            break;
          case "result":
            observation.result = ev.result;
            observation.permissionDenials = ev.permissionDenials;
            break;
        }
        this.emit({ type: "stream", attempt, event: ev });
      }
    };
    proc.on("output", (chunk) => {
      if (chunk.stream === "stdout") {
        transcript?.write(chunk.data);
        handle(parser.push(chunk.data));
      }
      this.emit({ type: "output", attempt, chunk });
    });
    const processResult = await proc.done;
    handle(parser.end());
    this.current = undefined;
    this.emit({ type: "attempt_ended", attempt, process: processResult });
    observation.processStatus = processResult.status;
    observation.exitCode = processResult.exitCode;
    observation.stderrTail = processResult.stderr.slice(-4000);
    // The result message is the authoritative answer; the last assistant text is a fallback.
    const text = observation.result?.result ?? texts.at(-1) ?? "";
    return { observation, text, structured: observation.result?.structured_output, sessionId, model };
  }
}

export function startClaudeTask(prompt: string, options: ClaudeTaskOptions = {}): ClaudeTask {
  return new ClaudeTask(prompt, options);
}

/** Runs one claude task to the end and returns its result (never throws for a failed run). */
export function ccExecute(prompt: string, options: ClaudeTaskOptions = {}): Promise<ClaudeTaskResult> {
  return new ClaudeTask(prompt, options).result;
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
