import { EventEmitter } from "node:events";
import WebSocket from "ws";
import { defaultHome, statePaths } from "../paths.js";
import { Methods, Notifications } from "../protocol/index.js";
import type {
  ConnectedParams,
  JsonRpcResponse,
  ProcessCompletedParams,
  ProcessOutputParams,
  ProcessStartedParams,
  TerminalStatus,
} from "../protocol/index.js";
import { readLocalToken } from "../server/auth.js";
import { TailBuffer } from "../process/tail-buffer.js";

export interface ConnectOptions {
  /** Default: ws://$CC_EXECUTOR_HOST:$CC_EXECUTOR_PORT/ws/mcp (127.0.0.1:8003). */
  url?: string;
  /** Default: CC_EXECUTOR_TOKEN, else the token file in the state directory. */
  token?: string;
  /** State directory to read the token from (default CC_EXECUTOR_HOME or ~/.cc-executor). */
  home?: string;
  /** Give up connecting after this long (default 10 s). */
  connectTimeoutMs?: number;
  /** Extra headers (e.g. Origin) for the upgrade request. */
  headers?: Record<string, string>;
}

export interface ExecuteOptions {
  /** Wall-clock timeout in seconds. */
  timeout?: number;
  /** Seconds without output before the process is killed. */
  inactivityTimeout?: number;
  cwd?: string;
  env?: Record<string, string>;
  shell?: "zsh" | "bash" | "sh" | "default";
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

export class RpcClientError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = "RpcClientError";
  }
}

export function defaultServerUrl(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.CC_EXECUTOR_HOST || "127.0.0.1";
  const port = env.CC_EXECUTOR_PORT || "8003";
  return `ws://${host.includes(":") ? `[${host}]` : host}:${port}/ws/mcp`;
}

interface ClientEvents {
  notification: [ExecutorEvent];
  close: [{ code: number; reason: string }];
}

/**
 * TypeScript client for the cc-executor WebSocket JSON-RPC server.
 * One client is one session: one running process at a time, as on the server.
 */
export class ExecutorClient extends EventEmitter<ClientEvents> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private closedError: Error | undefined;

  private constructor(
    private readonly ws: WebSocket,
    readonly session: ConnectedParams,
  ) {
    super();
    this.setMaxListeners(0);
    ws.on("message", (data) => this.onMessage(data.toString()));
    ws.on("close", (code, reason) => {
      this.closedError = new Error(`connection closed (${code}${reason.length ? `: ${reason.toString()}` : ""})`);
      for (const p of this.pending.values()) p.reject(this.closedError);
      this.pending.clear();
      this.emit("close", { code, reason: reason.toString() });
    });
  }

  static async connect(options: ConnectOptions = {}): Promise<ExecutorClient> {
    const url = options.url ?? defaultServerUrl();
    const token = options.token ?? readLocalToken(statePaths(options.home ?? defaultHome()).tokenFile);
    const headers: Record<string, string> = { ...options.headers };
    if (token) headers.authorization = `Bearer ${token}`;
    const ws = new WebSocket(url, { headers, handshakeTimeout: options.connectTimeoutMs ?? 10_000, perMessageDeflate: false });
    return new Promise<ExecutorClient>((resolve, reject) => {
      const fail = (err: Error) => {
        ws.removeAllListeners();
        ws.on("error", () => undefined);
        ws.terminate();
        reject(err);
      };
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => {
          let message = body;
          try {
            message = (JSON.parse(body) as { error?: string }).error ?? body;
          } catch {
            // plain text body
          }
          fail(new RpcClientError(res.statusCode ?? 0, `server refused the connection (HTTP ${res.statusCode}): ${message}`));
        });
      });
      ws.once("error", (err) => fail(new Error(`cannot connect to ${url}: ${err.message}`)));
      ws.once("close", (code, reason) => fail(new Error(`connection closed before it was ready (${code} ${reason.toString()})`)));
      ws.on("message", function first(data) {
        let msg: { method?: string; params?: unknown; error?: { code: number; message: string } };
        try {
          msg = JSON.parse(data.toString());
        } catch {
          return;
        }
        if (msg.error) return fail(new RpcClientError(msg.error.code, msg.error.message));
        if (msg.method !== Notifications.connected) return;
        ws.off("message", first);
        ws.removeAllListeners("error");
        ws.removeAllListeners("close");
        ws.removeAllListeners("unexpected-response");
        ws.on("error", () => undefined); // surfaced through "close"
        resolve(new ExecutorClient(ws, msg.params as ConnectedParams));
      });
    });
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
    const tails = { stdout: new TailBuffer(options.maxBuffer ?? 8 * 1024 * 1024), stderr: new TailBuffer(options.maxBuffer ?? 8 * 1024 * 1024) };
    let started: { execution_id: string; pid: number } | undefined;
    for await (const ev of this.stream(command, options)) {
      if (ev.method === Notifications.processStarted) started = ev.params as ProcessStartedParams;
      else if (ev.method === Notifications.processOutput) {
        const p = ev.params as ProcessOutputParams;
        tails[p.type].write(Buffer.from(p.data));
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
          truncated: Boolean(p.truncated) || tails.stdout.truncated || tails.stderr.truncated,
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
      if (!ev.method.startsWith("process.")) return;
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
      await this.request(Methods.execute, params);
      for (;;) {
        while (queue.length > 0) {
          const ev = queue.shift()!;
          yield ev;
          if (ev.method === Notifications.processCompleted) {
            finished = true;
            return;
          }
        }
        if (closed) return;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      this.off("notification", onEvent);
      this.off("close", onClose);
      if (!finished && !closed) await this.cancel().catch(() => undefined);
    }
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

  hookStatus(): Promise<unknown> {
    return this.request(Methods.hookStatus);
  }

  /** Closes the connection; the server cancels whatever this session was running. */
  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once("close", () => resolve());
      this.ws.close(1000);
    });
  }

  private onMessage(text: string): void {
    let msg: JsonRpcResponse & { method?: string; params?: unknown };
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (typeof msg.method === "string") {
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
