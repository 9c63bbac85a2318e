import { randomUUID } from "node:crypto";
import { type ClaudeTaskEvent, type ClaudeTaskOptions, type ClaudeTaskResult } from "../claude/index.js";
import { emptyHookSet } from "../hooks/index.js";
import type { Logger } from "../logger.js";
import { applyFlow, startProcess, type OutputFlow, type GroupRegistry, type ProcessSlots, type OutputChunk, type ProcessResult, type ShellPreference, type SupervisedProcess } from "../process/index.js";
import type { HookSet, HookWarning } from "../hooks/index.js";
import { startGuardedClaude } from "../hooks/index.js";
import { keepClaudeRecord, keepCommandOutput, type RunFolders } from "../runs/index.js";
import type { TimeoutChoice } from "./events.js";
import type { TaskOutcome, TaskSpec } from "./model.js";

/** One run of one task, as plain data: what a local or a queue executor needs to run it. */
export interface TaskRequest {
  runId: string;
  task: TaskSpec;
  /** claude tasks: the prompt with earlier results and references filled in. */
  prompt?: string;
  /** direct tasks: the shell command. */
  command?: string;
  timeoutS: number;
  cwd: string;
  env: Record<string, string>;
  /** 1-based run of this task (failure-policy retries count up). */
  attempt: number;
  executionId: string;
  /** How the timeout was chosen (given, estimated from history, or a default). */
  timeout?: TimeoutChoice;
  /** claude tasks: the most this run may spend (what is left of the task's and the list's budgets). */
  budget?: { maxCostUsd?: number; maxTokens?: number };
  /** claude tasks: continue this Claude session instead of starting afresh (a retry after real work). */
  resumeSession?: { sessionId: string; reason: string };
  /** claude tasks: false: the claude runner's own retries start afresh too. */
  continueSessions?: false;
}

/** What a running task reports while it runs. */
export type TaskActivity =
  | { type: "claude"; event: ClaudeTaskEvent }
  | { type: "hook.warning"; warning: HookWarning }
  | { type: "process.started"; pid: number; pgid: number; command: string; timeout: number; startedAt: number }
  | { type: "process.output"; chunk: OutputChunk }
  | { type: "process.completed"; result: ProcessResult & { pid: number; pgid: number } };

export interface TaskExecution {
  /** Never rejects: a failed task is an outcome with a failed status. */
  readonly outcome: Promise<TaskOutcome>;
  cancel(): void;
  pause(): boolean;
  resume(): boolean;
}

/** Runs single tasks. The runner owns order, context and checkpoints; executors only run. */
export interface TaskExecutor {
  start(request: TaskRequest, onActivity: (activity: TaskActivity) => void): TaskExecution;
}

export interface LocalExecutorOptions {
  /** pre/post-claude hooks around claude tasks, pre/post-execute around direct tasks. */
  hooks?: HookSet;
  /** Backpressure from the receiver of the activity events (e.g. a WebSocket). */
  flow?: OutputFlow;
  /** The command policy: a reason to refuse a direct task's command, or undefined. */
  refuseCommand?: (command: string) => string | undefined;
  /** Defaults for claude tasks (binary, API-key mode, permission mode, retry policy, state dir). */
  claude?: ClaudeTaskOptions;
  shell?: ShellPreference;
  killGraceMs?: number;
  maxBufferBytes?: number;
  registry?: GroupRegistry;
  /** CC_EXECUTOR_MAX_PROCESSES: each task takes a slot while it runs, and waits for one when all are taken. */
  slots?: ProcessSlots;
  logger?: Logger;
  /** Where each task keeps its output (output.log, execution.json); absent: nothing is kept. */
  runs?: RunFolders;
}

/** Bytes of a direct task's output kept as its result (the context uses a shorter tail). */
const DIRECT_RESULT_BYTES = 64 * 1024;

/** The fields every outcome of `req` has, whatever happened to it (ids, times, attempt, timeout). */
export function baseOutcome(req: TaskRequest, startedAt: number): Omit<TaskOutcome, "status" | "result" | "summary"> {
  const endedAt = Date.now();
  return {
    id: req.task.id,
    index: req.task.index,
    title: req.task.title,
    method: req.task.method,
    attempts: req.attempt,
    started_at: new Date(startedAt).toISOString(),
    ended_at: new Date(endedAt).toISOString(),
    duration_ms: endedAt - startedAt,
    timeout_s: req.timeoutS,
    files_created: [],
    files_modified: [],
    execution_id: req.executionId,
  };
}

export function outcomeFromClaude(req: TaskRequest, startedAt: number, r: ClaudeTaskResult): TaskOutcome {
  const status = r.success ? "completed" : r.error_type === "timeout" ? "timeout" : r.error_type === "canceled" ? "canceled" : "failed";
  const outcome: TaskOutcome = {
    ...baseOutcome(req, startedAt),
    status,
    result: r.result,
    summary: r.summary,
    files_created: r.files_created,
    files_modified: r.files_modified,
    uuid_verified: r.uuid_verified,
    input_tokens: r.usage.input_tokens,
    output_tokens: r.usage.output_tokens,
    cache_read_input_tokens: r.usage.cache_read_input_tokens,
    cache_creation_input_tokens: r.usage.cache_creation_input_tokens,
    cost_usd: r.cost_usd,
    num_turns: r.num_turns,
    session_id: r.session_id,
    transcript_path: r.transcript_path,
    ...(r.session_resumes ? { session_resumes: r.session_resumes } : {}),
  };
  if (!r.success) {
    outcome.error_type = r.error_type;
    outcome.message = r.message;
  }
  return outcome;
}

export function outcomeFromProcess(req: TaskRequest, startedAt: number, p: ProcessResult): TaskOutcome {
  const output = [p.stdout, p.stderr.trim() ? `[stderr]\n${p.stderr}` : ""].filter(Boolean).join("\n");
  const result = output.length > DIRECT_RESULT_BYTES ? output.slice(-DIRECT_RESULT_BYTES) : output;
  const lastLine = p.stdout.trim().split("\n").at(-1) ?? "";
  const outcome: TaskOutcome = {
    ...baseOutcome(req, startedAt),
    status: p.status,
    result,
    summary: p.status === "completed" ? lastLine.slice(0, 300) : `${p.status}${p.exitCode !== null ? ` (exit code ${p.exitCode})` : ""}${p.signal ? ` (signal ${p.signal})` : ""}`,
    exit_code: p.exitCode,
    signal: p.signal,
  };
  if (p.status !== "completed") {
    outcome.error_type = p.status === "timeout" ? "timeout" : p.status === "canceled" ? "canceled" : "nonzero_exit";
    outcome.message = p.status === "timeout" ? `timed out after ${req.timeoutS} s` : p.status === "canceled" ? "canceled" : `exit code ${p.exitCode ?? "none"}${p.signal ? `, signal ${p.signal}` : ""}`;
  }
  return outcome;
}

/** Runs tasks on this machine: claude tasks with the claude runner, direct tasks with the supervisor. */
export class LocalExecutor implements TaskExecutor {
  constructor(private readonly options: LocalExecutorOptions = {}) {}

  start(req: TaskRequest, onActivity: (activity: TaskActivity) => void): TaskExecution {
    const run = () => (req.task.method === "claude" ? this.startClaude(req, onActivity) : this.startDirect(req, onActivity));
    return this.options.slots ? withSlot(this.options.slots, req, run, this.options.logger) : run();
  }

  private startClaude(req: TaskRequest, onActivity: (activity: TaskActivity) => void): TaskExecution {
    const startedAt = Date.now();
    const base = this.options.claude ?? {};
    const t = req.task;
    const options: ClaudeTaskOptions = {
      ...base,
      executionId: req.executionId,
      timeout: req.timeoutS,
      json: t.json ?? base.json,
      model: t.model ?? base.model,
      tools: t.tools ?? base.tools,
      cwd: req.cwd,
      env: { ...base.env, ...req.env },
      registry: this.options.registry ?? base.registry,
      logger: this.options.logger ?? base.logger,
      killGraceMs: this.options.killGraceMs ?? base.killGraceMs,
      onEvent: (event) => onActivity({ type: "claude", event }),
      flow: this.options.flow ?? base.flow,
    };
    if (req.budget?.maxCostUsd !== undefined) options.maxCostUsd = req.budget.maxCostUsd;
    if (req.budget?.maxTokens !== undefined) options.maxTokens = req.budget.maxTokens;
    if (req.resumeSession) options.resumeSession = req.resumeSession;
    if (req.continueSessions === false) options.continueSessions = false;
    const warn = (warning: HookWarning) => onActivity({ type: "hook.warning", warning });
    let canceled = false;
    let task: { cancel(): void; pause(): boolean; resume(): boolean } | undefined;
    const outcome = startGuardedClaude(this.options.hooks ?? emptyHookSet(), req.prompt ?? "", options, { execution_id: req.executionId, task: t }, warn).then(async (started) => {
      if ("refused" in started) return refusedOutcome(req, startedAt, started.refused.message ?? "refused by a pre-claude hook");
      task = started.task;
      keepClaudeRecord(this.options.runs, { ...kept(req), text: started.task.prompt }, started.task.result);
      if (canceled) task.cancel();
      return outcomeFromClaude(req, startedAt, await started.task.result);
    });
    return {
      outcome,
      cancel: () => {
        canceled = true;
        task?.cancel();
      },
      pause: () => task?.pause() ?? false,
      resume: () => task?.resume() ?? false,
    };
  }

  private startDirect(req: TaskRequest, onActivity: (activity: TaskActivity) => void): TaskExecution {
    const startedAt = Date.now();
    const hooks = this.options.hooks ?? emptyHookSet();
    const warn = (warning: HookWarning) => onActivity({ type: "hook.warning", warning });
    let canceled = false;
    let proc: SupervisedProcess | undefined;
    const run = async (): Promise<TaskOutcome> => {
      const context = { execution_id: req.executionId, task: req.task, cwd: req.cwd, env: req.env };
      const pre = await hooks.run("pre-execute", { ...context, command: req.command });
      pre.warningDetails.forEach(warn);
      if (!pre.proceed) return refusedOutcome(req, startedAt, pre.message ?? "refused by a pre-execute hook");
      const command = pre.command ?? req.command ?? "";
      const refused = this.options.refuseCommand?.(command);
      if (refused) return refusedOutcome(req, startedAt, `command not allowed: ${refused}`);
      try {
        proc = await startProcess({
          command,
          cwd: req.cwd,
          env: { ...req.env, ...pre.env },
          removeEnv: ["CC_EXECUTOR_TOKEN"],
          shell: this.options.shell,
          timeoutMs: req.timeoutS * 1000,
          killGraceMs: this.options.killGraceMs,
          maxBufferBytes: this.options.maxBufferBytes,
          registry: this.options.registry,
          logger: this.options.logger,
        });
      } catch (err) {
        return { ...baseOutcome(req, startedAt), status: "failed", result: "", summary: `could not start: ${(err as Error).message}`, exit_code: null, error_type: "spawn_failed", message: (err as Error).message };
      }
      const p = proc;
      keepCommandOutput(this.options.runs, { ...kept(req), text: command }, p);
      applyFlow(p, this.options.flow);
      if (canceled) void p.cancel();
      onActivity({ type: "process.started", pid: p.pid, pgid: p.pgid, command: p.command, timeout: req.timeoutS, startedAt: p.startedAt });
      p.on("output", (chunk) => onActivity({ type: "process.output", chunk }));
      const result = await p.done;
      onActivity({ type: "process.completed", result: { ...result, pid: p.pid, pgid: p.pgid } });
      const post = await hooks.run("post-execute", { ...context, command, result: { status: result.status, exit_code: result.exitCode } });
      post.warningDetails.forEach(warn);
      return outcomeFromProcess(req, startedAt, result);
    };
    return {
      outcome: run(),
      cancel: () => {
        canceled = true;
        void proc?.cancel();
      },
      pause: () => proc?.pause() ?? false,
      resume: () => proc?.resume() ?? false,
    };
  }
}

/** What a task's run folder records about it besides the command or prompt. */
function kept(req: TaskRequest) {
  return { executionId: req.executionId, cwd: req.cwd, runId: req.runId, taskId: req.task.id, taskIndex: req.task.index };
}

/**
 * Runs a task once a process slot is free (at once when one is), gives the slot back when it has
 * ended. Canceled while it waits, it ends canceled without having started.
 */
function withSlot(slots: ProcessSlots, req: TaskRequest, start: () => TaskExecution, logger?: Logger): TaskExecution {
  const queuedAt = Date.now();
  let execution: TaskExecution | undefined;
  let canceled = false;
  let abandon!: () => void;
  const abandoned = new Promise<void>((r) => (abandon = r));
  const outcome = (async (): Promise<TaskOutcome> => {
    let release = slots.tryTake();
    if (!release) {
      logger?.info({ task: req.task.id, max: slots.max }, "all process slots are taken (CC_EXECUTOR_MAX_PROCESSES): the task waits for one");
      release = await slots.acquire(abandoned);
    }
    if (!release) return { ...baseOutcome(req, queuedAt), status: "canceled", result: "", summary: "canceled", error_type: "canceled", message: "canceled while waiting for a process slot" };
    try {
      execution = start();
      if (canceled) execution.cancel();
      return await execution.outcome;
    } finally {
      release();
    }
  })();
  return {
    outcome,
    cancel: () => {
      canceled = true;
      abandon();
      execution?.cancel();
    },
    pause: () => execution?.pause() ?? false,
    resume: () => execution?.resume() ?? false,
  };
}

/** A task a hook or the command policy refused: failed without running anything. */
export function refusedOutcome(req: TaskRequest, startedAt: number, message: string): TaskOutcome {
  return { ...baseOutcome(req, startedAt), status: "failed", result: "", summary: `refused: ${message}`, error_type: "hook_refused", message };
}

export function newExecutionId(): string {
  return randomUUID();
}
