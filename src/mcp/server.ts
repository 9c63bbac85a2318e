import { randomUUID } from "node:crypto";
import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { Readable, Writable } from "node:stream";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { ClaudeTaskEvent, StreamEvent } from "../claude/index.js";
import { loadConfig, type Config } from "../config.js";
import { claudeDefaults, openGroupRegistry, planTimeout, startGuardedCommand, startRecordedClaude, taskListServices } from "../doors/index.js";
import { HookConfigError, loadHooks, type HookSet, type HookWarning } from "../hooks/index.js";
import { silentLogger, type Logger } from "../logger.js";
import { runFoldersFrom } from "../runs/index.js";
import { ProcessSlots, SpawnError, type GroupRegistry, type ProcessResult } from "../process/index.js";
import { compilePolicy, refusalReason } from "../doors/policy.js";
import { HistoryRecorder, openStore, storeOptionsFrom, timeoutLimitsFrom, type Store } from "../store/index.js";
import {
  checkPreTaskList,
  describeBudget,
  loadRunState,
  newRunId,
  resumeTaskList,
  RunNotFoundError,
  RunNotResumableError,
  startTaskList,
  taskListFromRequest,
  TaskListError,
  TaskListRefusedError,
  type RunState,
  type TaskList,
  type TaskListEvent,
  type TaskListOptions,
  type TaskListRun,
} from "../tasks/index.js";
import { TokenCount, Usd } from "../protocol/index.js";
import { VERSION } from "../version.js";
import { FractionalSteps, ProgressReporter, type ProgressExtra } from "./progress.js";

/** Bytes of stdout and of stderr kept for an execute_command result (the tail: a tool result lands in a model's context). */
export const COMMAND_OUTPUT_TAIL_BYTES = 16 * 1024;
/** A progress notification at least this often while a tool call runs (when the client asked for progress). */
export const HEARTBEAT_MS = 15_000;

export const TOOL_NAMES = ["cc_execute", "run_task_list", "execute_command", "history"] as const;

export interface McpServerOptions {
  config?: Config;
  logger?: Logger;
  /** Directory that relative paths and the default cwd are resolved against (default: process.cwd()). */
  cwd?: string;
  /** Process-group records for reaping after a crash (default: one in the state directory). */
  registry?: GroupRegistry;
  /** History store (default: opened from the config on first use: SQLite, or Redis with REDIS_URL, and closed with the server). */
  store?: Store;
}

export interface CcExecutorMcpServer {
  readonly server: McpServer;
  /** Tool calls running now. */
  readonly active: number;
  /** Cancels every running tool call (their process groups are killed) and waits for them to end. */
  cancelAll(): Promise<void>;
  /** cancelAll(), then closes the MCP connection and the store. */
  close(): Promise<void>;
}

const INSTRUCTIONS = `cc-executor runs work as supervised subprocesses and blocks until it is done.
- cc_execute: one Claude Code task in a fresh \`claude -p\` process (verified with an execution UUID); returns its JSON result.
- run_task_list: a task list (file, inline tasks, or text) in strict order, one fresh process per task, each task given the results of the earlier ones; returns the run summary.
- execute_command: one shell command; returns exit code, status and output tails.
- history: recent executions.
Every call blocks until the work has finished; canceling the call kills the work. The project's hooks (.cc-executor/hooks.json, once the user trusted it) and command policy apply, and every execution is recorded in the history.`;

// ---- argument schemas ---------------------------------------------------------------------------
// Strict: a misspelt argument (timeout_s, max_turn) is an error naming it, not silently ignored.

const seconds = z.number().positive().max(7 * 24 * 3600);
const toolList = z.union([z.array(z.string().min(1)), z.string().min(1)]);
const usd = Usd;
const tokenCount = TokenCount;

const CcExecuteArgs = z.strictObject({
  prompt: z.string().min(1, "must not be empty").describe("The task for Claude, as you would type it."),
  json: z.boolean().optional().describe("JSON mode: ask for {result, summary, files_created, files_modified} and parse it (default false)."),
  timeout: seconds.optional().describe("Wall-clock limit per attempt, in seconds (default: estimated from the history of similar tasks, else CC_EXECUTOR_CLAUDE_TIMEOUT or by prompt complexity)."),
  model: z.string().min(1).optional().describe("Model: sonnet, opus, haiku or a full model name."),
  tools: toolList.optional().describe('Tools claude may use without asking, e.g. ["Read", "Write", "Bash"] (or "Read,Write,Bash").'),
  cwd: z.string().min(1).optional().describe("Working directory (default: the MCP server's)."),
  max_cost: usd.optional().describe("The most this task may cost over all its attempts, in US dollars (claude's --max-budget-usd); past it the result is error_type budget_exceeded."),
  max_tokens: tokenCount.optional().describe("The most tokens (input + output + cache) it may use over all its attempts."),
  resume_session: z.boolean().optional().describe("false: retries start afresh instead of continuing the failed attempt's Claude session (default true)."),
});

const TaskItem = z.union([
  z.string().min(1).describe("A claude task with this prompt."),
  z
    .looseObject({
      id: z.union([z.string(), z.number()]).optional(),
      title: z.string().optional(),
      prompt: z.string().optional().describe("A claude task's prompt."),
      command: z.string().optional().describe("A direct task's shell command."),
      method: z.enum(["claude", "direct"]).optional(),
      timeout: z.union([z.number(), z.string()]).optional().describe('Seconds, or "90s", "5m", "1h".'),
      tools: toolList.optional(),
      model: z.string().optional(),
      json: z.boolean().optional(),
      parallel_group: z.union([z.string(), z.number()]).optional(),
      max_cost: z.union([z.number(), z.string()]).optional().describe("This task's budget in US dollars, over all its attempts."),
      max_tokens: z.union([z.number(), z.string()]).optional().describe("This task's budget in tokens."),
      on_failure: z.union([z.string(), z.object({ retry: z.number() })]).optional().describe('"stop" (default), "continue", "retry N".'),
    })
    .describe("A task: {prompt} for claude, {command} for a shell command, plus optional fields."),
]);

const RunTaskListArgs = z
  .strictObject({
    file: z.string().min(1).optional().describe("Path of a task-list file (.md, .yaml/.yml, .json), relative to cwd."),
    tasks: z.array(TaskItem).min(1, "must list at least one task").optional().describe("Inline tasks, in order."),
    text: z.string().min(1).optional().describe("A whole task list as text (markdown, YAML or JSON)."),
    format: z.enum(["markdown", "yaml", "json"]).optional().describe("Format of `text` or `file` (default: from the file name, else guessed)."),
    name: z.string().min(1).optional().describe("Name of an inline `tasks` list."),
    cwd: z.string().min(1).optional().describe("Working directory of every task (default: the MCP server's)."),
    resume_run_id: z
      .string()
      .regex(/^tl-[\w-]+$/, "must be a task-list run id (tl-...)")
      .optional()
      .describe("Continue a stopped run (failed, canceled, interrupted, or stopped by its budget: give a larger max_cost / max_tokens) instead of starting a list."),
    concurrency: z.number().int().min(1).max(64).optional().describe("Most tasks of one parallel group at once (default 4)."),
    isolation: z.enum(["worktree", "none"]).optional().describe("Parallel groups' claude tasks each in a git worktree and branch of their own, merged back in task order (default in a git repository), or all in one tree."),
    max_cost: usd.optional().describe("Budget of the whole run in US dollars: once spent, no task starts and the run stops as budget_exhausted (resumable). With resume_run_id: the new total."),
    max_tokens: tokenCount.optional().describe("Budget of the whole run in tokens (input + output + cache reads and writes)."),
    resume_sessions: z.boolean().optional().describe("false: retries and resumes start claude tasks afresh instead of continuing their Claude sessions (default true)."),
  })
  .superRefine((a, ctx) => {
    const given = (["file", "tasks", "text", "resume_run_id"] as const).filter((k) => a[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: "custom", message: `give exactly one of file, tasks, text or resume_run_id${given.length ? ` (got ${given.join(", ")})` : ""}`, path: [given[1] ?? "tasks"] });
    }
  });

const ExecuteCommandArgs = z.strictObject({
  command: z.string().min(1, "must not be empty").describe("A shell command line (run by zsh, bash or sh)."),
  timeout: seconds
    .nullable()
    .optional()
    .describe("Wall-clock limit in seconds (default: estimated from the history of similar commands, else CC_EXECUTOR_COMMAND_TIMEOUT, 600; null: none). Killed after STREAM_TIMEOUT seconds without output either way."),
  cwd: z.string().min(1).optional().describe("Working directory (default: the MCP server's)."),
});

const HistoryArgs = z.strictObject({
  limit: z.number().int().min(1).max(1000).optional().describe("At most this many executions, newest first (default 20)."),
  status: z.enum(["running", "completed", "failed", "timeout", "canceled"]).optional(),
  kind: z.enum(["command", "claude", "task"]).optional(),
});

// ---- results --------------------------------------------------------------------------------------

function jsonResult(value: object, isError: boolean): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(value, null, 2) }], structuredContent: value as Record<string, unknown>, isError };
}

function errorResult(message: string): CallToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
}

/** Thrown by argument checks the schema cannot make; becomes an error result naming the field. */
class ArgumentError extends Error {}

/** Thrown when a call cannot run at all (an invalid hooks file); becomes an error result with the message. */
class UnavailableError extends Error {}

function firstLine(text: string, max = 120): string {
  const line = text.trim().split("\n")[0] ?? "";
  return line.length > max ? `${line.slice(0, max - 3)}...` : line;
}

function describeInput(input: unknown): string {
  if (!input || typeof input !== "object") return "";
  const o = input as Record<string, unknown>;
  const v = o.command ?? o.file_path ?? o.path ?? o.pattern ?? o.url ?? o.description;
  return typeof v === "string" ? firstLine(v, 100) : "";
}

/** A short human line for a claude stream event worth a progress tick, else undefined. */
function streamMessage(ev: StreamEvent): string | undefined {
  switch (ev.kind) {
    case "assistant_text":
      return ev.text ? `» ${firstLine(ev.text)}` : undefined;
    case "tool_use":
      return `⚙ ${ev.name} ${describeInput(ev.input)}`.trim();
    case "api_retry":
      return `API ${ev.status ?? "connection"} error; claude retries (attempt ${ev.attempt})`;
    default:
      return undefined;
  }
}

/** A progress line for a claude task event, or undefined when the event is not worth one. */
function claudeEventMessage(ev: ClaudeTaskEvent): string | undefined {
  switch (ev.type) {
    case "attempt_started":
      return `claude attempt ${ev.attempt} started (pid ${ev.pid})`;
    case "stream":
      return streamMessage(ev.event);
    case "error":
      return `✗ ${ev.failure.error_type}: ${firstLine(ev.failure.message)}`;
    case "retry":
      return `↻ retrying in ${Math.round(ev.delayMs / 1000)} s (${ev.reason})`;
    case "waiting_for_limit":
      return `⏳ waiting for the usage limit to reset at ${new Date(ev.untilEpochMs).toISOString()}`;
    case "session":
      return ev.resumed ? `↪ attempt ${ev.attempt} continues session ${ev.sessionId} (${firstLine(ev.reason)})` : `↪ session ${ev.sessionId} could not be continued (${firstLine(ev.fallback ?? "")}); attempt ${ev.attempt} starts afresh`;
    default:
      return undefined;
  }
}

/** What post-execute hooks are given: the fields of the WebSocket server's process.completed. */
function hookResult(executionId: string, proc: { pid: number; pgid: number }, r: ProcessResult) {
  return {
    execution_id: executionId,
    status: r.status,
    exit_code: r.exitCode,
    signal: r.signal,
    execution_time: r.durationMs / 1000,
    duration_ms: r.durationMs,
    pid: proc.pid,
    pgid: proc.pgid,
    stdout_bytes: r.stdoutBytes,
    stderr_bytes: r.stderrBytes,
    truncated: r.truncated,
    ...(r.timeoutReason ? { timeout_reason: r.timeoutReason } : {}),
  };
}

function elapsed(since: number): string {
  const s = Math.round((Date.now() - since) / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

// ---- the server -----------------------------------------------------------------------------------

/** The MCP server with its tools, not yet connected to a transport. */
export function createMcpServer(options: McpServerOptions = {}): CcExecutorMcpServer {
  const config = options.config ?? loadConfig();
  const logger = options.logger ?? silentLogger;
  const baseDir = options.cwd ?? process.cwd();
  const registry = options.registry ?? openGroupRegistry(config, logger);
  const policy = compilePolicy(config.allowCommands, config.denyCommands);
  const refuseCommand = (command: string | readonly string[]) => refusalReason(policy, command);
  const claude = () => ({ ...claudeDefaults(config), registry, logger });
  /** Hook context and history records name this MCP server as their session. */
  const sessionId = randomUUID();

  // Hooks: the project's .cc-executor/hooks.json, else the state directory's, as for the WebSocket
  // server. An invalid file does not stop the server (Claude Code would only say "failed to
  // connect"): every call that runs work answers with the file's error instead, until it is fixed.
  let hooks: HookSet | undefined;
  let hooksError: string | undefined;
  function currentHooks(): HookSet {
    if (hooks) return hooks; // from now on the set re-reads the file itself (an invalid edit keeps the previous hooks, with a warning)
    try {
      hooks = loadHooks({ cwd: baseDir, home: config.home, logger, shell: config.shell, killGraceMs: config.killGraceMs, registry });
      if (hooks.configPath) logger.info({ file: hooks.configPath }, "mcp: hooks loaded");
      if (hooksError) logger.info("mcp: the hooks file is valid again; tool calls run");
      hooksError = undefined;
      return hooks;
    } catch (err) {
      if (!(err instanceof HookConfigError)) throw err;
      if (hooksError !== err.message) logger.error({ file: err.file }, `mcp: invalid hooks file; tool calls that run work are refused until it is fixed: ${err.message}`);
      hooksError = err.message;
      throw new UnavailableError(`Invalid hooks file, so nothing runs until it is fixed (it is read again on every call): ${err.message}`);
    }
  }
  try {
    currentHooks(); // reported on stderr at start
  } catch (err) {
    if (!(err instanceof UnavailableError)) throw err;
  }

  // History: one store for the server's lifetime, opened on first use. When it cannot be opened,
  // work runs anyway, without records or estimates (and `history` says why).
  let opened: Promise<{ store: Store; history: HistoryRecorder }> | undefined;
  const openHistory = () =>
    (opened ??= (options.store ? Promise.resolve(options.store) : openStore(storeOptionsFrom(config, logger)))
      .then((store) => ({ store, history: new HistoryRecorder(store, timeoutLimitsFrom(config), logger) }))
      .catch((err: unknown) => {
        opened = undefined; // tried again on the next call
        throw err;
      }));
  async function recorder(): Promise<HistoryRecorder | undefined> {
    try {
      return (await openHistory()).history;
    } catch (err) {
      logger.warn({ err: (err as Error).message }, "mcp: cannot open the history store; this call runs without history");
      return undefined;
    }
  }

  const server = new McpServer({ name: "cc-executor", version: VERSION }, { instructions: INSTRUCTIONS });

  // Running tool calls: canceled when their request is, and all of them on shutdown.
  const works = new Map<number, { cancel: () => void; done: Promise<unknown> }>();
  let seq = 0;
  let closing = false;
  // CC_EXECUTOR_MAX_PROCESSES: a slot per running command or claude task, and per running task of a list.
  const slots = new ProcessSlots(config.maxProcesses);
  const slotsFull = () => `too many processes running (${slots.inUse}; CC_EXECUTOR_MAX_PROCESSES=${config.maxProcesses})`;
  function admit(): string | undefined {
    if (closing) return "the MCP server is shutting down";
    return undefined;
  }
  function track(signal: AbortSignal, cancel: () => void, done: Promise<unknown>): void {
    const id = ++seq;
    const onAbort = () => {
      logger.info({ call: id }, "tool call canceled by the client; stopping its work");
      cancel();
    };
    works.set(id, { cancel, done });
    if (signal.aborted || closing) onAbort(); // closing: it started while the server shut down
    else signal.addEventListener("abort", onAbort, { once: true });
    void done.finally(() => {
      signal.removeEventListener("abort", onAbort);
      works.delete(id);
    });
  }

  function directory(cwd: string | undefined, field = "cwd"): string {
    const dir = resolve(baseDir, cwd ?? ".");
    let ok = false;
    try {
      ok = statSync(dir).isDirectory();
    } catch {
      // reported below
    }
    if (!ok) throw new ArgumentError(`Invalid arguments: ${field}: not an existing directory: ${dir}`);
    return dir;
  }

  /**
   * Admits a tool call. `slot: "hold"`: the call runs one process and holds a slot while it runs;
   * "tasks": its tasks take slots themselves, but it is refused when none is free.
   */
  const guard =
    <A>(name: string, handler: (args: A, extra: Extra) => Promise<CallToolResult>, slot?: "hold" | "tasks") =>
    async (args: A, extra: Extra): Promise<CallToolResult> => {
      const refused = admit();
      if (refused) return errorResult(refused);
      if (slot === "tasks" && slots.full) return errorResult(slotsFull());
      const release = slot === "hold" ? slots.tryTake() : undefined;
      if (slot === "hold" && !release) return errorResult(slotsFull());
      try {
        return await handler(args, extra);
      } catch (err) {
        if (err instanceof ArgumentError || err instanceof UnavailableError) return errorResult(err.message);
        logger.error({ err: (err as Error).message, tool: name }, "tool call failed");
        return errorResult(`${name} failed: ${(err as Error).message}`);
      } finally {
        release?.();
      }
    };

  server.registerTool(
    "cc_execute",
    {
      title: "Run one Claude Code task",
      description:
        "Runs one Claude Code task headless in a fresh `claude -p` process and blocks until it has finished. " +
        "The answer is verified with an execution UUID; rate limits and overloads are retried. " +
        "Returns the same JSON object as `cc-executor claude --json` (success, result, summary, files_created, files_modified, error_type, message, usage, cost_usd, duration_ms, transcript_path, ...). " +
        "isError is set when success is false.",
      inputSchema: CcExecuteArgs,
      annotations: { destructiveHint: true, openWorldHint: true },
    },
    guard("cc_execute", async (a, extra) => {
      const cwd = directory(a.cwd);
      const door = { hooks: currentHooks(), history: await recorder(), runs: runFoldersFrom(config) };
      const defaults = claude();
      const executionId = randomUUID();
      const timeout = await planTimeout({ history: door.history, estimateTimeouts: config.estimateTimeouts }, a.prompt, "claude", a.timeout, defaults.timeout);
      const progress = new ProgressReporter(extra);
      let ticks = 0;
      const warnings: HookWarning[] = [];
      const warn = (w: HookWarning) => {
        warnings.push(w);
        logger.warn({ executionId, hook: w.hook, event: w.event }, w.message);
        progress.send(++ticks, undefined, `⚠ ${w.event} hook ${w.hook}: ${firstLine(w.message)}`);
      };
      const startedAt = Date.now();
      const guarded = await startRecordedClaude(
        door,
        a.prompt,
        {
          ...defaults,
          executionId,
          json: a.json ?? false,
          timeout: timeout.timeoutS ?? undefined,
          model: a.model,
          tools: typeof a.tools === "string" ? a.tools.split(",").map((s) => s.trim()).filter(Boolean) : a.tools,
          cwd,
          ...(a.max_cost !== undefined ? { maxCostUsd: a.max_cost } : {}),
          ...(a.max_tokens !== undefined ? { maxTokens: a.max_tokens } : {}),
          ...(a.resume_session === false ? { continueSessions: false } : {}),
          onEvent: (ev) => {
            const message = claudeEventMessage(ev);
            if (message) progress.send(++ticks, undefined, message);
          },
        },
        { execution_id: executionId, session_id: sessionId },
        warn,
        timeout,
      );
      if ("refused" in guarded) return errorResult(`Task not allowed: ${guarded.refused.message ?? "refused by a pre-claude hook"}`);
      const task = guarded.task;
      track(extra.signal, () => task.cancel(), task.result);
      progress.heartbeat(HEARTBEAT_MS, () => progress.send(++ticks, undefined, `working for ${elapsed(startedAt)}`));
      logger.info({ executionId, cwd }, "mcp: cc_execute started");
      const result = await task.result.finally(() => progress.stop());
      await progress.settle();
      logger.info({ executionId, success: result.success, error_type: result.error_type }, "mcp: cc_execute finished");
      const extras = { ...(timeout.estimate ? { timeout_estimate: timeout.estimate } : {}), ...(warnings.length ? { hook_warnings: warnings } : {}) };
      return jsonResult({ ...result, ...extras }, !result.success);
    }, "hold"),
  );

  server.registerTool(
    "run_task_list",
    {
      title: "Run a task list in strict order",
      description:
        "Runs a task list and blocks until it has finished: tasks in strict order (a parallel_group runs together), one fresh process per task, " +
        "each claude task given the results of the earlier ones, a checkpoint after every task. " +
        "Give exactly one of: `file` (a .md/.yaml/.json task list), `tasks` (inline: prompts as strings, or {prompt} / {command} objects), `text` (+ optional `format`), or `resume_run_id` (continue a stopped run). " +
        "In a git repository, a parallel group's claude tasks work in worktrees of their own and are merged back in task order; a merge conflict keeps the branch and fails as a step of its own. " +
        "max_cost / max_tokens set a budget: once spent, the run stops as budget_exhausted and can be resumed with a larger one. " +
        "Returns the run summary JSON (status, completed/failed/skipped counts, every task's outcome, merges, budget, report paths, resume_command). " +
        "Progress notifications: progress = tasks finished, total = tasks. isError is set unless every task completed.",
      inputSchema: RunTaskListArgs,
      annotations: { destructiveHint: true, openWorldHint: true },
    },
    guard("run_task_list", async (a, extra) => {
      const hooks = currentHooks();
      let list: TaskList;
      let resumed: RunState | undefined;
      try {
        if (a.resume_run_id) {
          resumed = loadRunState(config.home, a.resume_run_id);
          list = resumed.list;
        } else list = taskListFromRequest({ ...a, source: "inline" }, directory(a.cwd));
      } catch (err) {
        if (err instanceof TaskListError) return errorResult(`Invalid task list: ${err.message}`);
        if (err instanceof RunNotFoundError) return errorResult(err.message);
        throw err;
      }
      const cwd = resumed ? resumed.cwd : directory(a.cwd);
      const total = list.tasks.length;
      const progress = new ProgressReporter(extra);
      const steps = new FractionalSteps();
      let finished = 0;
      const running = new Map<string, string>();
      const label = (index: number, title: string) => `task ${index}/${total} "${firstLine(title, 80)}"`;
      const onEvent = (ev: TaskListEvent) => {
        switch (ev.type) {
          case "tasklist.started":
            progress.send(steps.step(0), total, `${total} task(s): ${list.name}`);
            break;
          case "task.started":
            running.set(ev.task_id, label(ev.index, ev.title));
            progress.send(steps.tick(), total, `${label(ev.index, ev.title)} started${ev.attempt > 1 ? ` (attempt ${ev.attempt})` : ""}`);
            break;
          case "task.activity": {
            const act = ev.activity;
            if (act.type === "hook.warning") logger.warn({ runId: ev.run_id, task: ev.task_id, hook: act.warning.hook, event: act.warning.event }, act.warning.message);
            const message =
              act.type === "claude"
                ? claudeEventMessage(act.event)
                : act.type === "process.started"
                  ? `$ ${firstLine(act.command, 100)}`
                  : act.type === "hook.warning"
                    ? `⚠ ${act.warning.event} hook ${act.warning.hook}: ${firstLine(act.warning.message)}`
                    : undefined;
            if (message) progress.send(steps.tick(), total, `task ${ev.index}/${total}: ${message}`);
            break;
          }
          case "task.completed":
            running.delete(ev.outcome.id);
            progress.send(steps.step(++finished), total, `${label(ev.outcome.index, ev.outcome.title)} completed`);
            break;
          case "task.failed":
            if (ev.will_retry) {
              progress.send(steps.tick(), total, `${label(ev.outcome.index, ev.outcome.title)} ${ev.outcome.status}; retrying`);
              break;
            }
            running.delete(ev.outcome.id);
            progress.send(steps.step(++finished), total, `${label(ev.outcome.index, ev.outcome.title)} ${ev.outcome.status}${ev.outcome.message ? `: ${firstLine(ev.outcome.message, 120)}` : ""}`);
            break;
          case "task.skipped":
            progress.send(steps.step(++finished), total, `${label(ev.index, ev.title)} skipped: ${ev.reason}`);
            break;
          case "task.merge":
            progress.send(steps.tick(), total, `${label(ev.merge.index, ev.merge.title)} merge ${ev.merge.status}${ev.merge.message ? `: ${firstLine(ev.merge.message, 200)}` : ""}`);
            break;
          case "tasklist.budget":
            progress.send(steps.tick(), total, `budget: ${describeBudget(ev.budget)}`);
            break;
          case "tasklist.completed":
            break;
        }
      };
      const runId = a.resume_run_id ?? newRunId();
      try {
        await checkPreTaskList(hooks, list, { cwd, run_id: runId });
      } catch (err) {
        if (err instanceof TaskListRefusedError) return errorResult(`Task list not allowed: ${err.message}`);
        throw err;
      }
      const options: TaskListOptions = {
        home: config.home,
        runId,
        cwd,
        // Hooks, history, estimates, the command policy: as the WebSocket server's run_task_list has them.
        ...taskListServices(config, { hooks, history: await recorder(), refuseCommand, registry, slots, logger }),
        logger,
        onEvent,
      };
      if (a.concurrency !== undefined) options.concurrency = a.concurrency;
      if (a.isolation) options.isolation = a.isolation;
      if (a.max_cost !== undefined || a.max_tokens !== undefined) options.budget = { ...(a.max_cost !== undefined ? { maxCostUsd: a.max_cost } : {}), ...(a.max_tokens !== undefined ? { maxTokens: a.max_tokens } : {}) };
      if (a.resume_sessions === false) options.resumeSessions = false;
      let run: TaskListRun;
      try {
        run = a.resume_run_id ? resumeTaskList(a.resume_run_id, options) : startTaskList(list, options);
      } catch (err) {
        if (err instanceof TaskListError) return errorResult(`Invalid task list: ${err.message}`);
        if (err instanceof RunNotResumableError) return errorResult(`Cannot resume: ${err.message}`);
        throw err;
      }
      track(extra.signal, () => void run.cancel(), run.finished);
      const startedAt = Date.now();
      progress.heartbeat(HEARTBEAT_MS, () =>
        progress.send(steps.tick(), total, `${finished}/${total} finished after ${elapsed(startedAt)}${running.size ? `; running: ${[...running.values()].join(", ")}` : ""}`),
      );
      logger.info({ runId: run.runId, tasks: total, cwd }, "mcp: run_task_list started");
      const summary = await run.finished.finally(() => progress.stop());
      await progress.settle();
      logger.info({ runId: run.runId, status: summary.status }, "mcp: run_task_list finished");
      return jsonResult(summary, summary.status !== "completed");
    }, "tasks"),
  );

  server.registerTool(
    "execute_command",
    {
      title: "Run one shell command",
      description:
        "Runs one shell command in its own process group and blocks until it has finished. " +
        `Returns {success, status, exit_code, signal, stdout, stderr, duration_ms, ...}; stdout and stderr are the last ${COMMAND_OUTPUT_TAIL_BYTES / 1024} KiB of each (truncated says whether older output was dropped). ` +
        'status is "completed" (exit 0), "failed", "timeout" or "canceled"; isError is set unless the command exited 0. ' +
        "The command policy and the project's pre-execute hooks may refuse (an error result saying why) or rewrite the command.",
      inputSchema: ExecuteCommandArgs,
      annotations: { destructiveHint: true, openWorldHint: true },
    },
    guard("execute_command", async (a, extra) => {
      const cwd = directory(a.cwd);
      const door = { hooks: currentHooks(), history: await recorder(), estimateTimeouts: config.estimateTimeouts, refuseCommand, runs: runFoldersFrom(config) };
      const executionId = randomUUID();
      const progress = new ProgressReporter(extra);
      const warnings: HookWarning[] = [];
      const warn = (w: HookWarning) => {
        warnings.push(w);
        logger.warn({ executionId, hook: w.hook, event: w.event }, w.message);
      };
      let guarded;
      try {
        guarded = await startGuardedCommand(door, {
          executionId,
          sessionId,
          command: a.command,
          cwd,
          timeoutS: a.timeout,
          spawn: {
            removeEnv: ["CC_EXECUTOR_TOKEN"],
            shell: config.shell,
            inactivityTimeoutMs: config.streamTimeoutS * 1000,
            killGraceMs: config.killGraceMs,
            maxBufferBytes: Math.min(COMMAND_OUTPUT_TAIL_BYTES, config.maxBufferSize),
            registry,
            logger,
          },
          onWarning: warn,
        });
      } catch (err) {
        if (err instanceof SpawnError) return errorResult(`Cannot start the command: ${err.message}`);
        throw err;
      }
      if ("refused" in guarded) return errorResult(`Command not allowed: ${guarded.refused}`);
      const cmd = guarded.started;
      const proc = cmd.proc;
      // The end is recorded as soon as the process is done (before shutdown closes the store); post-execute hooks follow.
      const finished = proc.done.then((r) => ({ r, post: cmd.finish(hookResult(executionId, proc, r)) }));
      track(extra.signal, () => void proc.cancel(), finished);
      progress.send(0, undefined, `started (pid ${proc.pid})`);
      progress.heartbeat(HEARTBEAT_MS, () => progress.send((Date.now() - proc.startedAt) / 1000, undefined, `running for ${elapsed(proc.startedAt)}`));
      logger.info({ executionId, pid: proc.pid, command: proc.command, cwd }, "mcp: execute_command started");
      const { r, post } = await finished.finally(() => progress.stop());
      await progress.settle();
      logger.info({ executionId, pid: proc.pid, status: r.status, exitCode: r.exitCode }, "mcp: execute_command finished");
      const after = await post;
      after.warningDetails.forEach(warn);
      // As in the server: a post-execute hook cannot undo a command, so its "no" is a warning.
      if (after.rejected) warn({ hook: after.rejected.hook, event: "post-execute", message: after.rejected.message });
      const value = {
        success: r.status === "completed",
        status: r.status,
        exit_code: r.exitCode,
        signal: r.signal,
        stdout: r.stdout,
        stderr: r.stderr,
        stdout_bytes: r.stdoutBytes,
        stderr_bytes: r.stderrBytes,
        truncated: r.truncated,
        duration_ms: r.durationMs,
        timeout_s: cmd.timeoutS,
        ...(cmd.estimate ? { timeout_estimate: cmd.estimate } : {}),
        ...(r.timeoutReason ? { timeout_reason: r.timeoutReason } : {}),
        pid: proc.pid,
        command: proc.command,
        cwd,
        execution_id: executionId,
        ...(warnings.length ? { hook_warnings: warnings } : {}),
      };
      return jsonResult(value, !value.success);
    }, "hold"),
  );

  server.registerTool(
    "history",
    {
      title: "Recent executions",
      description:
        "Recent executions (commands, claude tasks, task-list tasks) from the history store, newest first: id, kind, label, status, times, exit code, tokens, cost, timeout and its basis, artifacts. " +
        "Lists what these tools ran (and the WebSocket server and CLI on the same state directory).",
      inputSchema: HistoryArgs,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    guard("history", async (a) => {
      let s: Store;
      try {
        s = (await openHistory()).store;
      } catch (err) {
        return errorResult(`Cannot open the store: ${(err as Error).message}`);
      }
      const executions = await s.listExecutions({ limit: a.limit ?? 20, status: a.status, kind: a.kind });
      const health = await s.health();
      return jsonResult({ backend: health.backend, store_status: health.status, count: executions.length, executions }, false);
    }),
  );

  async function cancelAll(): Promise<void> {
    const pending = [...works.values()];
    for (const w of pending) w.cancel();
    // Each cancel ends within the kill grace (SIGTERM, grace, SIGKILL); a bound keeps shutdown finite.
    const bound = new Promise<void>((r) => setTimeout(r, config.killGraceMs + 10_000).unref());
    await Promise.race([Promise.allSettled(pending.map((w) => w.done)), bound]);
  }

  let closed: Promise<void> | undefined;
  return {
    server,
    get active() {
      return works.size;
    },
    cancelAll,
    close: () =>
      (closed ??= (async () => {
        closing = true;
        if (works.size > 0) logger.info({ calls: works.size }, "mcp: canceling running tool calls");
        await cancelAll();
        await server.close().catch(() => undefined);
        await registry.close();
        const h = opened && (await opened.catch(() => undefined));
        if (h) {
          await h.history.flush();
          if (!options.store) await h.store.close().catch(() => undefined);
        }
      })()),
  };
}

type Extra = ProgressExtra & { signal: AbortSignal };

export interface StartMcpServerOptions extends McpServerOptions {
  /** Default: process.stdin / process.stdout. Nothing else may write to `stdout`. */
  stdin?: Readable;
  stdout?: Writable;
}

export interface RunningMcpServer extends CcExecutorMcpServer {
  /** Settles once the server has shut down: its input ended, its connection closed, or close() was called. */
  readonly closed: Promise<void>;
}

/**
 * Starts the MCP server on stdio. Kills process groups left behind by a crashed earlier run
 * first; shuts down (killing whatever its tool calls still run) when its input ends.
 */
export async function startMcpServer(options: StartMcpServerOptions = {}): Promise<RunningMcpServer> {
  const config = options.config ?? loadConfig();
  const logger = options.logger ?? silentLogger;
  const registry = options.registry ?? openGroupRegistry(config, logger);
  const reaped = await registry.reapLeftovers(config.killGraceMs);
  if (reaped.reaped.length + reaped.cgroups.length > 0) logger.warn({ groups: reaped.reaped, cgroups: reaped.cgroups }, `killed what a previous run left: ${reaped.reaped.length} process group(s), ${reaped.cgroups.length} cgroup(s)`);
  const mcp = createMcpServer({ ...options, config, logger, registry });
  const stdin = options.stdin ?? process.stdin;
  const stdout = options.stdout ?? process.stdout;

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= mcp.close().finally(() => {
      stdin.off("end", onEnd);
      stdout.off("error", onOutputError);
      resolveClosed();
    }));
  const onEnd = () => {
    logger.info("mcp: input ended; shutting down");
    void close();
  };
  const onOutputError = (err: Error) => {
    logger.warn({ err: err.message }, "mcp: cannot write to the client; shutting down");
    void close();
  };
  stdin.once("end", onEnd);
  stdout.on("error", onOutputError);

  const transport = new StdioServerTransport(stdin, stdout);
  await mcp.server.connect(transport);
  mcp.server.server.onclose = () => void close();
  logger.info({ version: VERSION, home: config.home }, "mcp: server ready on stdio");
  return {
    server: mcp.server,
    get active() {
      return mcp.active;
    },
    cancelAll: mcp.cancelAll,
    close,
    closed,
  };
}
