import type { WriteStream } from "node:fs";
import { applyFlow, SpawnError, startProcess, type SupervisedProcess } from "../process/index.js";
import { claudeEnv } from "./argv.js";
import type { RunObservation } from "./classify.js";
import { StreamJsonParser, type StreamEvent } from "./stream-parser.js";
import type { ClaudeTaskEvent, ClaudeTaskOptions, TokenUsage } from "./types.js";
import { LiveUsage } from "./usage.js";

/** The CLI's own API retries when nobody says otherwise: about 15-20 s of backoff on a permanent error. */
export const DEFAULT_API_RETRIES = 5;
const DEFAULT_TIMEOUT_S = 1800;
/**
 * With --json-schema the CLI answers a model that replies in text with "You MUST call the
 * StructuredOutput tool", again and again without end. After this many, the attempt is stopped.
 */
const STRUCTURED_OUTPUT_NUDGES = 2;
const STRUCTURED_OUTPUT_NUDGE = /call the StructuredOutput tool/i;

export interface AttemptSpec {
  bin: string;
  argv: string[];
  /** The prompt, on stdin, when it is not in argv (too long for one argument). */
  stdin?: string;
  attempt: number;
  options: ClaudeTaskOptions;
  transcript: WriteStream | undefined;
  emit: (event: ClaudeTaskEvent) => void;
  /** Called once the process exists (for pause, resume and cancel). */
  started: (proc: SupervisedProcess) => void;
  /** Tokens this attempt may use: past it (as the stream reports usage) the process is stopped. */
  tokenLimit?: number;
}

export type AttemptOutcome =
  | { spawnError: string; code?: string }
  | { observation: RunObservation; text: string; structured?: unknown; sessionId?: string; model?: string; liveUsage: TokenUsage };

/** What the stream says, gathered as it comes. */
class StreamObserver {
  readonly observation: RunObservation;
  readonly texts: string[] = [];
  sessionId: string | undefined;
  model: string | undefined;
  structuredOutputNudges = 0;
  readonly live = new LiveUsage();

  constructor(maxTurns: number | undefined) {
    this.observation = { assistantErrors: [], retryStatuses: [], pendingRetries: [], processStatus: "completed", exitCode: null, stdoutBytes: 0, stderrTail: "", permissionDenials: [], maxTurns, sawInit: false, worked: false };
  }

  see(ev: StreamEvent): void {
    const o = this.observation;
    switch (ev.kind) {
      case "init":
        this.sessionId = ev.sessionId;
        this.model = ev.model;
        o.sawInit = true;
        return;
      case "api_retry":
        o.retryStatuses.push(ev.status);
        o.pendingRetries.push({ status: ev.status, error: ev.error });
        return;
      case "rate_limit":
        if (ev.status === "rejected") o.limitRejected = { resetsAt: ev.resetsAt, limitType: ev.limitType };
        return;
      case "assistant_text":
        if (ev.text) this.texts.push(ev.text);
        if (ev.error) o.assistantErrors.push(ev.error);
        else o.worked = true;
        this.live.see(ev.raw);
        break;
      case "tool_use":
        o.worked = true;
        this.live.see(ev.raw);
        break;
      case "result":
        o.result = ev.result;
        o.permissionDenials = ev.permissionDenials;
        break;
      case "user_text":
        if (ev.synthetic && STRUCTURED_OUTPUT_NUDGE.test(ev.text)) this.structuredOutputNudges++;
        return;
      case "noise":
      case "system":
        return;
    }
    // The model answered (or a tool ran): earlier retries succeeded.
    o.pendingRetries = [];
  }
}

/**
 * One claude process: started under supervision (own process group; timeout, inactivity and
 * cancel kill the group), its stdout parsed as it comes and copied to the transcript, and what it
 * did gathered for classification. Never throws: a process that cannot start is a spawnError.
 */
export async function runAttempt(spec: AttemptSpec): Promise<AttemptOutcome> {
  const o = spec.options;
  let proc: SupervisedProcess;
  try {
    proc = await startProcess({
      command: [spec.bin, ...spec.argv],
      cwd: o.cwd,
      // Our retry policy owns the CLI's: its own default (10 retries, ~3 min) would outlast most timeouts.
      env: { ...o.env, CLAUDE_CODE_MAX_RETRIES: String(o.apiRetries ?? DEFAULT_API_RETRIES) },
      removeEnv: ["CC_EXECUTOR_TOKEN", ...claudeEnv(o.apiKeyMode ?? "inherit").remove],
      stdinText: spec.stdin,
      timeoutMs: (o.timeout ?? DEFAULT_TIMEOUT_S) * 1000,
      inactivityTimeoutMs: o.inactivityTimeout !== undefined ? o.inactivityTimeout * 1000 : undefined,
      killGraceMs: o.killGraceMs,
      maxBufferBytes: 256 * 1024, // the stream is parsed as it comes; only a tail is kept for diagnostics
      registry: o.registry,
      logger: o.logger,
    });
  } catch (err) {
    return { spawnError: `cannot start ${spec.bin}: ${(err as Error).message}`, code: err instanceof SpawnError ? err.code : undefined };
  }
  spec.started(proc);
  applyFlow(proc, o.flow);
  spec.emit({ type: "attempt_started", attempt: spec.attempt, pid: proc.pid, pgid: proc.pgid, argv: spec.argv });

  const parser = new StreamJsonParser();
  const observer = new StreamObserver(o.maxTurns);
  const handle = (events: StreamEvent[]) => {
    for (const ev of events) {
      observer.see(ev);
      spec.emit({ type: "stream", attempt: spec.attempt, event: ev });
    }
    if (observer.structuredOutputNudges >= STRUCTURED_OUTPUT_NUDGES && !observer.observation.structuredOutputRefused) {
      observer.observation.structuredOutputRefused = true;
      void proc.cancel();
    }
    const used = observer.live.tokens;
    if (spec.tokenLimit !== undefined && used > spec.tokenLimit && !observer.observation.tokenBudgetExceeded && !observer.observation.result) {
      observer.observation.tokenBudgetExceeded = { limit: spec.tokenLimit, used };
      void proc.cancel();
    }
  };
  proc.on("output", (chunk) => {
    if (chunk.stream === "stdout") {
      spec.transcript?.write(chunk.data);
      handle(parser.push(chunk.data));
    }
    spec.emit({ type: "output", attempt: spec.attempt, chunk });
  });
  const processResult = await proc.done;
  handle(parser.end());
  spec.emit({ type: "attempt_ended", attempt: spec.attempt, process: processResult });
  const observation = observer.observation;
  observation.processStatus = processResult.status;
  observation.exitCode = processResult.exitCode;
  observation.stdoutBytes = processResult.stdoutBytes;
  observation.stderrTail = processResult.stderr.slice(-4000);
  // The result message is the authoritative answer; the last assistant text is a fallback.
  const text = observation.result?.result ?? observer.texts.at(-1) ?? "";
  return { observation, text, structured: observation.result?.structured_output, sessionId: observer.sessionId, model: observer.model, liveUsage: observer.live.usage };
}
