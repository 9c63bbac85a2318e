import { EventEmitter } from "node:events";
import WebSocket from "ws";
import { Methods, Notifications } from "../protocol/names.js";
import type {
  ConnectedParams,
  JsonRpcResponse,
  ProcessCompletedParams,
  ProcessOutputParams,
  ProcessStartedParams,
  TerminalStatus,
} from "../protocol/index.js";
import { TextTail } from "./text-tail.js";
import type { ClaudeTaskResult } from "../claude/index.js";
import type { ServerSettings } from "../server/settings-method.js";
import type { TaskListSummary } from "../tasks/index.js";
import { RpcClientError, socketOpener, type ConnectOptions, type ReconnectOptions } from "./connection.js";

export { RpcClientError, defaultServerUrl, type ConnectOptions, type ReconnectOptions } from "./connection.js";

export interface ExecuteOptions {
  /** Wall-clock timeout in seconds. */
  timeout?: number;
  /** Seconds without output before the process is killed. */
  inactivityTimeout?: number;
  cwd?: string;
  env?: Record<string, string>;
  shell?: "zsh" | "bash" | "sh" | "default";
  /** Keep the process running when the connection drops; the client reconnects and catches up. */
  resumable?: boolean;
  onOutput?: (chunk: { stream: "stdout" | "stderr"; data: string }) => void;
  /** Largest stdout/stderr tail kept in the result, per stream (default 8 MiB). */
  maxBuffer?: number;
}

export interface ExecuteResult {
  success: boolean;
  status: TerminalStatus;
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** Output is missing: over MAX_BUFFER_SIZE, over maxBuffer, or (resumable) a reconnect whose replay had a gap. */
  truncated: boolean;
  executionId: string;
  pid: number;
}

/** A notification from the server, typed by method. */
export type ExecutorEvent =
  | { method: "process.started"; params: ProcessStartedParams }
  | { method: "process.output"; params: ProcessOutputParams }
  | { method: "process.completed"; params: ProcessCompletedParams }
  | { method: "process.paused" | "process.resumed" | "process.canceled"; params: { execution_id: string; pid: number; pgid: number } }
  | { method: string; params: Record<string, unknown> };

/** Params of cc_execute (snake_case, as on the wire) plus an event callback. */
export interface ClaudeRequestOptions {
  json?: boolean;
  timeout?: number;
  model?: string;
  max_turns?: number;
  tools?: string[];
  disallowed_tools?: string[];
  append_system_prompt?: string;
  mcp_config?: string;
  permission_mode?: "default" | "acceptEdits" | "bypassPermissions" | "plan" | "dontAsk" | "auto";
  cwd?: string;
  env?: Record<string, string>;
  uuid?: boolean;
  wait_on_limit?: boolean;
  max_attempts?: number;
  /** The most this task may cost (US dollars) / use (tokens) over all its attempts. */
  max_cost?: number;
  max_tokens?: number;
  /** false: retries start afresh instead of continuing the failed attempt's Claude session. */
  resume_session?: boolean;
  resumable?: boolean;
  onEvent?: (event: ExecutorEvent) => void;
}

/** What to run: a list of prompts, task objects, a file on the server's machine, the list's text, or a run to resume. */
export type TaskListRequest =
  | Array<string | Record<string, unknown>>
  | { tasks: Array<string | Record<string, unknown>>; name?: string; defaults?: Record<string, unknown>; on_failure?: string | { retry: number } }
  | { file: string }
  | { text: string; format?: "markdown" | "yaml" | "json"; source?: string }
  | { resume_run_id: string };

export interface TaskListRequestOptions {
  concurrency?: number;
  cwd?: string;
  env?: Record<string, string>;
  /** Also write the report here (a path on the server's machine). */
  report?: string;
  context_chars?: number;
  /** Parallel groups' claude tasks in git worktrees of their own ("worktree"), or in one tree ("none"). */
  isolation?: "worktree" | "none";
  /** The run's budget: US dollars and tokens (with resume_run_id: the new total). */
  max_cost?: number;
  max_tokens?: number;
  /** false: retries and resumes start claude tasks afresh instead of continuing their sessions. */
  resume_sessions?: boolean;
  resumable?: boolean;
  onEvent?: (event: ExecutorEvent) => void;
}

/** The answer to a detached start: the run is the server's from here on. */
export interface DetachedRun {
  status: "started";
  detached: true;
  /** The claude task's id (both ids are the run id for a task list). */
  execution_id: string;
  /** Task lists only. */
  run_id?: string;
  name?: string;
  total?: number;
  /** The run folder on the server's machine: result.json (claude) or checkpoint.json and report.json (task lists). */
  run_dir: string;
  state_path?: string;
}

interface ClientEvents {
  notification: [ExecutorEvent];
  /** The connection is gone for good (closed by us, by the server, or reconnecting gave up). */
  close: [{ code: number; reason: string }];
  /** The connection dropped while a resumable execution ran; trying again (attempt n, after delayMs). */
  reconnecting: [{ attempt: number; delayMs: number }];
  reconnected: [{ sessionId: string; replayed: number }];
}

/**
 * TypeScript client for the cc-executor WebSocket JSON-RPC server.
 * One client is one session: one running process at a time, as on the server.
 * When the connection drops during a resumable execution, it reconnects with backoff and
 * re-attaches, so the caller sees every notification exactly once.
 */
export class ExecutorClient extends EventEmitter<ClientEvents> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private closedError: Error | undefined;
  private closingByUser = false;
  /** The resumable execution in progress and the last event_seq seen of it. */
  private resumable: { executionId: string; lastSeq: number } | undefined;

  private constructor(
    private ws: WebSocket,
    public session: ConnectedParams,
    private readonly reopen: () => Promise<{ ws: WebSocket; hello: ConnectedParams }>,
    private readonly reconnect: Required<ReconnectOptions> | undefined,
  ) {
    super();
    this.setMaxListeners(0);
    this.bind(ws);
  }

  static async connect(options: ConnectOptions = {}): Promise<ExecutorClient> {
    const reopen = socketOpener(options);
    const { ws, hello } = await reopen();
    const reconnect = options.reconnect === false ? undefined : { attempts: 10, baseDelayMs: 250, maxDelayMs: 5000, ...(options.reconnect === true ? {} : options.reconnect) };
    return new ExecutorClient(ws, hello, reopen, reconnect);
  }

  private bind(ws: WebSocket): void {
    ws.on("message", (data) => this.onMessage(data.toString()));
    ws.on("close", (code, reason) => void this.onClose(code, reason.toString()));
  }

  private async onClose(code: number, reason: string): Promise<void> {
    const error = new Error(`connection closed (${code}${reason ? `: ${reason}` : ""})`);
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    if (!this.closingByUser && this.reconnect && this.resumable) {
      const { executionId } = this.resumable;
      for (let attempt = 1; attempt <= this.reconnect.attempts; attempt++) {
        const delayMs = Math.min(this.reconnect.maxDelayMs, this.reconnect.baseDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
        this.emit("reconnecting", { attempt, delayMs });
        await new Promise((r) => setTimeout(r, delayMs));
        try {
          const { ws, hello } = await this.reopen();
          this.ws = ws;
          this.session = hello;
          this.bind(ws);
          const res = await this.request<{ replayed: number }>(Methods.attach, { execution_id: executionId, since_seq: this.resumable?.lastSeq ?? 0 });
          this.emit("reconnected", { sessionId: hello.session_id, replayed: res.replayed });
          return;
        } catch {
          // try again
        }
      }
    }
    this.closedError = error;
    this.emit("close", { code, reason });
  }

  get sessionId(): string {
    return this.session.session_id;
  }

  /** Sends a request and resolves with its result (rejects with RpcClientError on an error answer). */
  request<R = unknown>(method: string, params: Record<string, unknown> = {}): Promise<R> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }), (err) => {
        if (err) {
          this.pending.delete(id);
          reject(err);
        }
      });
    });
  }

  /** Runs a command and resolves when it has finished (whatever its status). */
  async execute(command: string | string[], options: ExecuteOptions = {}): Promise<ExecuteResult> {
    const tails = { stdout: new TextTail(options.maxBuffer ?? 8 * 1024 * 1024), stderr: new TextTail(options.maxBuffer ?? 8 * 1024 * 1024) };
    let started: { execution_id: string; pid: number } | undefined;
    let gap = false;
    for await (const ev of this.stream(command, options)) {
      if (ev.method === Notifications.replayGap) gap = true;
      else if (ev.method === Notifications.processStarted) started = ev.params as ProcessStartedParams;
      else if (ev.method === Notifications.processOutput) {
        const p = ev.params as ProcessOutputParams;
        tails[p.type].write(p.data);
        options.onOutput?.({ stream: p.type, data: p.data });
      } else if (ev.method === Notifications.processCompleted) {
        const p = ev.params as ProcessCompletedParams;
        return {
          success: p.status === "completed" && p.exit_code === 0,
          status: p.status,
          exitCode: p.exit_code,
          signal: p.signal,
          stdout: tails.stdout.toString(),
          stderr: tails.stderr.toString(),
          durationMs: p.duration_ms ?? Math.round(p.execution_time * 1000),
          truncated: Boolean(p.truncated) || tails.stdout.truncated || tails.stderr.truncated || gap,
          executionId: p.execution_id ?? started?.execution_id ?? "",
          pid: p.pid ?? started?.pid ?? 0,
        };
      }
    }
    throw new Error("connection closed before the process completed");
  }

  /**
   * Runs a command and yields its notifications as they arrive, ending after process.completed.
   * Breaking out of the loop early cancels the process.
   */
  async *stream(command: string | string[], options: Omit<ExecuteOptions, "onOutput"> = {}): AsyncGenerator<ExecutorEvent> {
    const queue: ExecutorEvent[] = [];
    let wake: (() => void) | undefined;
    let closed = false;
    const onEvent = (ev: ExecutorEvent) => {
      // replay.gap: a reconnect could not get back everything (the server's replay file is capped).
      if (!ev.method.startsWith("process.") && ev.method !== Notifications.replayGap) return;
      queue.push(ev);
      wake?.();
    };
    const onClose = () => {
      closed = true;
      wake?.();
    };
    this.on("notification", onEvent);
    this.on("close", onClose);
    let finished = false;
    try {
      const params: Record<string, unknown> = { command };
      if (options.timeout !== undefined) params.timeout = options.timeout;
      if (options.inactivityTimeout !== undefined) params.inactivity_timeout = options.inactivityTimeout;
      if (options.cwd !== undefined) params.cwd = options.cwd;
      if (options.env !== undefined) params.env = options.env;
      if (options.shell !== undefined) params.shell = options.shell;
      if (options.resumable) params.resumable = true;
      const started = await this.request<{ execution_id: string }>(Methods.execute, params);
      if (options.resumable) this.resumable = { executionId: started.execution_id, lastSeq: 0 };
      for (;;) {
        while (queue.length > 0) {
          const ev = queue.shift()!;
          // set before the yield: a caller that stops at process.completed (execute() returns there)
          // ends this generator at the yield, and an ended process is not canceled
          if (ev.method === Notifications.processCompleted) finished = true;
          yield ev;
          if (finished) return;
        }
        if (closed) return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      this.resumable = undefined;
      this.off("notification", onEvent);
      this.off("close", onClose);
      if (!finished && !closed) await this.cancel().catch(() => undefined);
    }
  }

  /**
   * Runs one claude task on the server (method cc_execute) and resolves with its result once
   * `claude.completed` arrives; every notification of the task is passed to `onEvent`.
   * Resumable by default: a dropped connection is re-attached without losing events.
   */
  async claude(prompt: string, options: ClaudeRequestOptions = {}): Promise<ClaudeTaskResult> {
    const { onEvent, ...params } = options;
    const done = await this.runTracked(Methods.ccExecute, { prompt, ...params, resumable: params.resumable ?? true }, "execution_id", Notifications.claudeCompleted, onEvent);
    return (done as { result: ClaudeTaskResult }).result;
  }

  /**
   * Runs a task list on the server (or resumes one: `{ resume_run_id }`) and resolves with its
   * summary once every task has ended. Task events (task.started, task.completed, ...) and each
   * task's process/claude notifications reach `onEvent`.
   */
  async runTaskList(source: TaskListRequest, options: TaskListRequestOptions = {}): Promise<TaskListSummary> {
    const { onEvent, ...params } = options;
    const body = Array.isArray(source) ? { tasks: source } : source;
    const done = await this.runTracked(Methods.runTaskList, { ...body, ...params, resumable: params.resumable ?? true }, "run_id", Notifications.taskListCompleted, onEvent);
    return (done as { summary: TaskListSummary }).summary;
  }

  /**
   * Starts one claude task as a server-owned run (cc_execute with `detach`): answered at once; the
   * task runs to its end whatever happens to this connection. Its result lands in its run folder
   * (`cc-executor wait <id>` reads it) and stays attachable while the server keeps it.
   */
  detachClaude(prompt: string, options: Omit<ClaudeRequestOptions, "onEvent" | "resumable"> = {}): Promise<DetachedRun> {
    return this.request<DetachedRun>(Methods.ccExecute, { prompt, ...options, detach: true });
  }

  /** Starts (or resumes) a task list as a server-owned run (run_task_list with `detach`): answered at once. */
  detachTaskList(source: TaskListRequest, options: Omit<TaskListRequestOptions, "onEvent" | "resumable"> = {}): Promise<DetachedRun> {
    const body = Array.isArray(source) ? { tasks: source } : source;
    return this.request<DetachedRun>(Methods.runTaskList, { ...body, ...options, detach: true });
  }

  /**
   * Starts long work, forwards its notifications (those whose `idField` matches the id the server
   * answered with) and resolves with the params of its completion notification.
   */
  private runTracked(method: string, params: Record<string, unknown>, idField: "execution_id" | "run_id", completion: string, onEvent?: (ev: ExecutorEvent) => void): Promise<Record<string, unknown>> {
    let workId: string | undefined;
    const early: ExecutorEvent[] = [];
    return new Promise((resolve, reject) => {
      const onNotification = (ev: ExecutorEvent) => {
        if (workId === undefined) return void early.push(ev);
        if ((ev.params as Record<string, unknown>)[idField] !== workId) return;
        onEvent?.(ev);
        if (ev.method === completion) {
          cleanup();
          resolve(ev.params as Record<string, unknown>);
        }
      };
      const onClose = () => {
        cleanup();
        reject(this.closedError ?? new Error(`connection closed before ${method} completed`));
      };
      const cleanup = () => {
        this.off("notification", onNotification);
        this.off("close", onClose);
        this.resumable = undefined;
      };
      this.on("notification", onNotification);
      this.on("close", onClose);
      this.request<Record<string, string>>(method, params)
        .then((res) => {
          workId = res[idField];
          if (params.resumable) this.resumable = { executionId: workId!, lastSeq: 0 };
          for (const ev of early.splice(0)) onNotification(ev);
        })
        .catch((err: Error) => {
          cleanup();
          reject(err);
        });
    });
  }

  cancel(): Promise<{ status: string }> {
    return this.request(Methods.control, { type: "CANCEL" });
  }

  pause(): Promise<{ status: string }> {
    return this.request(Methods.control, { type: "PAUSE" });
  }

  resume(): Promise<{ status: string }> {
    return this.request(Methods.control, { type: "RESUME" });
  }

  /** The server's own settings and claude binary: what a request does not carry (docs/protocol.md `settings`). */
  settings(): Promise<ServerSettings> {
    return this.request(Methods.settings);
  }

  hookStatus(): Promise<unknown> {
    return this.request(Methods.hookStatus);
  }

  /** Closes the connection; the server cancels whatever this session was running. */
  async close(): Promise<void> {
    this.closingByUser = true;
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once("close", () => resolve());
      this.ws.close(1000);
    });
  }

  /**
   * Sends the close frame and lets go of the connection at once, without waiting for the server's
   * answer: for a process that is about to exit and has nothing more to hear from the server (the
   * CLI once it has its result). The server ends the session as after close().
   */
  closeNow(): void {
    this.closingByUser = true;
    if (this.ws.readyState === WebSocket.CLOSED) return;
    // the frame is written to the socket at once (a few bytes, nothing queued before it); ending
    // the socket then also clears ws's timer that would wait up to 30 s for the server's answer
    this.ws.close(1000);
    this.ws.terminate();
  }

  private onMessage(text: string): void {
    let msg: JsonRpcResponse & { method?: string; params?: unknown };
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof msg.method === "string") {
      const params = msg.params as { execution_id?: string; run_id?: string; event_seq?: number } | undefined;
      const ofResumable = this.resumable && (params?.execution_id === this.resumable.executionId || params?.run_id === this.resumable.executionId);
      if (ofResumable && typeof params?.event_seq === "number" && this.resumable) {
        if (params.event_seq <= this.resumable.lastSeq) return; // already seen before a reconnect
        this.resumable.lastSeq = params.event_seq;
      }
      this.emit("notification", { method: msg.method, params: (msg.params ?? {}) as Record<string, unknown> });
      return;
    }
    const id = typeof msg.id === "number" ? msg.id : undefined;
    const waiter = id === undefined ? undefined : this.pending.get(id);
    if (!waiter) return;
    this.pending.delete(id!);
    if ("error" in msg) waiter.reject(new RpcClientError(msg.error.code, msg.error.message, msg.error.data));
    else waiter.resolve(msg.result);
  }
}
