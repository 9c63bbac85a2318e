/*
 * A local double of the Anthropic Messages API for running the real `claude` CLI in tests.
 *
 * It listens on 127.0.0.1 (port 0), answers `POST /v1/messages` with the server-sent events the
 * CLI parses (message_start, content_block_start/delta/stop with text_delta or input_json_delta,
 * message_delta with stop_reason and usage, message_stop), and sends each failure the way the
 * API does (status, JSON error body, retry-after and unified rate-limit headers). Every request
 * is logged (headers and parsed body) so a test can assert what the CLI sent.
 *
 * The CLI 2.1.333 puts notes of its own into `messages` as `system`-role messages (the
 * environment, which 2.1.112 sends in the system prompt; the budget left, which 2.1.112 sends as a
 * <system-reminder> block in the user's message). `turns` is the conversation without them, and
 * `userText` leaves out <system-reminder> blocks, so tests read the same turns from every build.
 *
 * What to answer is decided per request by a handler that sees the whole conversation: a test
 * scripts a worker ("write this file, then answer with the UUID") or an orchestrating model
 * ("run this Bash command; read its tool_result in the next request; decide the next call").
 * Without a handler, markers in the prompt choose a scenario (see `markerHandler`).
 *
 * An orchestrating model, for example: run a command, read its result, decide the next call.
 *
 *   api.setHandler((req) => {
 *     if (!req.prompt.includes("ORCHESTRATE")) return obedientAnswer(req);   // a worker's request
 *     if (req.turn === 0) return reply.toolUse("Bash", { command: "cc-executor claude --json 'task 1'", timeout: 5000 });
 *     const out = req.toolResults[0]?.text ?? "";                            // what the Bash call returned
 *     return out.includes('"success": true') ? reply.text("all tasks done") : reply.toolUse("Bash", { command: "…" });
 *   });
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

// --- what the CLI sends -------------------------------------------------------------------------

export interface ContentBlock {
  type: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
  tool_use_id?: string;
  content?: unknown;
  is_error?: boolean;
  [key: string]: unknown;
}

export interface ApiMessage {
  /** "system": a note the CLI inserts between the turns (2.1.333), not a turn of the conversation. */
  role: "user" | "assistant" | "system";
  content: string | ContentBlock[];
}

export interface ToolResult {
  toolUseId: string;
  /** The result's text (text blocks joined). */
  text: string;
  isError: boolean;
}

/** One request as the double received it, with the conversation read out. */
export interface ApiRequest {
  /** 1-based, over the life of the double. */
  seq: number;
  method: string;
  /** Path without the query, e.g. /v1/messages. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The JSON body (undefined when it was not JSON). */
  body: any;
  rawBody: string;
  receivedAt: number;
  /** `x-claude-code-session-id`: one per CLI process (a fresh session each run). */
  sessionId: string | undefined;
  /** 0-based order of this session's first request among all sessions the double has seen. */
  sessionIndex: number;
  model: string | undefined;
  /** The messages as sent, the CLI's system-role notes included. */
  messages: ApiMessage[];
  /** The conversation: user and assistant messages, without the CLI's system-role notes. */
  turns: ApiMessage[];
  /** Text of the first user message without the CLI's <system-reminder> blocks: the prompt. */
  prompt: string;
  /** Text of the newest user message that has text: the prompt of this run when it continues an earlier session (--resume). */
  latestPrompt: string;
  /** Assistant messages already in the conversation (0 on the first call of a run). */
  turn: number;
  /** Names of the tools offered (built-ins, mcp__<server>__<tool>, StructuredOutput). */
  toolNames: string[];
  /** tool_result blocks of the last user message (what the previous tool_use calls returned). */
  toolResults: ToolResult[];
  /** The system prompt's text blocks joined. */
  system: string;
  /**
   * The CLI's "Primary working directory", the newest one given: in the system prompt (2.1.112) or
   * in a system-role note (2.1.333, which adds an "Environment update" note when a continued
   * session runs in another directory).
   */
  workingDirectory: string | undefined;
}

// --- what the double answers --------------------------------------------------------------------

export type ReplyBlock = { type: "text"; text: string } | { type: "tool_use"; name: string; input: unknown; id?: string };

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

interface Timing {
  /** Wait this long before sending anything (a slow answer). */
  delayMs?: number;
}

export type Reply =
  | (Timing & {
      kind: "message";
      content: ReplyBlock[];
      /** Default: tool_use when a block is a tool call, else end_turn. */
      stopReason?: "end_turn" | "tool_use" | "max_tokens" | "stop_sequence";
      usage?: Partial<Usage>;
      /** Pause between SSE events (a slowly streaming answer). */
      eventDelayMs?: number;
      headers?: Record<string, string>;
    })
  | (Timing & { kind: "error"; status: number; errorType: string; message: string; headers?: Record<string, string> })
  /** Sends the response head and message_start, then nothing until the client gives up or the double closes. */
  | (Timing & { kind: "stall" })
  /** Closes the connection without an answer (a network error for the CLI). */
  | (Timing & { kind: "disconnect" });

export interface HandlerContext {
  api: MessagesApi;
  /** Requests earlier in the same session (same CLI process), oldest first. */
  earlier: ApiRequest[];
}

export type Handler = (req: ApiRequest, ctx: HandlerContext) => Reply | Promise<Reply>;

const DEFAULT_USAGE: Usage = { input_tokens: 1200, output_tokens: 40, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };

/** Builders for the replies a test needs, each shaped as the API sends it. */
export const reply = {
  text: (text: string, extra: Partial<Extract<Reply, { kind: "message" }>> = {}): Reply => ({ kind: "message", content: [{ type: "text", text }], ...extra }),
  /** A tool call (optionally preceded by some text); the CLI runs it and calls again with its tool_result. */
  toolUse: (name: string, input: unknown, extra: Partial<Extract<Reply, { kind: "message" }>> & { text?: string; id?: string } = {}): Reply => {
    const { text, id, ...rest } = extra;
    const content: ReplyBlock[] = text ? [{ type: "text", text }] : [];
    content.push({ type: "tool_use", name, input, id });
    return { kind: "message", content, ...rest };
  },
  /** The StructuredOutput call that --json-schema asks the model to make. */
  structured: (value: unknown): Reply => ({ kind: "message", content: [{ type: "tool_use", name: "StructuredOutput", input: value }] }),
  /** An answer cut at the output limit (stop_reason max_tokens). */
  maxTokens: (text = "This answer goes on and on"): Reply => ({ kind: "message", content: [{ type: "text", text }], stopReason: "max_tokens", usage: { output_tokens: 32000 } }),
  error: (status: number, errorType: string, message: string, headers: Record<string, string> = {}): Reply => ({ kind: "error", status, errorType, message, headers }),
  auth: (): Reply => reply.error(401, "authentication_error", "invalid x-api-key"),
  rateLimit: (retryAfterS = 1): Reply =>
    reply.error(429, "rate_limit_error", "This request would exceed the rate limit for your organization of 50 input tokens per minute.", { "retry-after": String(retryAfterS) }),
  overloaded: (): Reply => reply.error(529, "overloaded_error", "Overloaded"),
  promptTooLong: (): Reply => reply.error(400, "invalid_request_error", "prompt is too long: 250123 tokens > 200000 maximum"),
  billing: (): Reply =>
    reply.error(400, "invalid_request_error", "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."),
  /**
   * A subscription usage limit: 429 with the unified rate-limit headers. The CLI treats it as one
   * only under OAuth auth (CLAUDE_CODE_OAUTH_TOKEN; see claudeEnv's `oauth`).
   */
  usageLimit: (resetEpochS: number, claim = "five_hour"): Reply =>
    reply.error(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", {
      "anthropic-ratelimit-unified-status": "rejected",
      "anthropic-ratelimit-unified-reset": String(resetEpochS),
      "anthropic-ratelimit-unified-representative-claim": claim,
      "anthropic-ratelimit-unified-overage-status": "rejected",
      "anthropic-ratelimit-unified-overage-disabled-reason": "org_level_disabled",
      "x-should-retry": "false",
    }),
  stall: (): Reply => ({ kind: "stall" }),
  disconnect: (): Reply => ({ kind: "disconnect" }),
  /** Any reply, sent after a delay. */
  delayed: (ms: number, r: Reply): Reply => ({ ...r, delayMs: ms }),
};

// --- reading the conversation -------------------------------------------------------------------

const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/i;

function blocksOf(message: ApiMessage | undefined): ContentBlock[] {
  if (!message) return [];
  return typeof message.content === "string" ? [{ type: "text", text: message.content }] : message.content;
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((b: ContentBlock) => (b.type === "text" ? (b.text ?? "") : "")).join("\n");
  return "";
}

/** The user's own text in a message: text blocks that are not the CLI's <system-reminder> additions. */
export function userText(message: ApiMessage | undefined): string {
  return blocksOf(message)
    .filter((b) => b.type === "text" && !/^\s*<system-reminder>/.test(b.text ?? ""))
    .map((b) => b.text ?? "")
    .join("\n");
}

/** Where the CLI says it works, from the system prompt and its system-role notes (the newest wins). */
function workingDirectoryOf(system: string, messages: ApiMessage[]): string | undefined {
  const texts = [system, ...messages.filter((m) => m.role === "system").map((m) => textOf(m.content))];
  const said = texts.flatMap((t) => [...t.matchAll(/Primary working directory: (.+?)(?: \(was .*\))?$/gm)].map((m) => m[1]!.trim()));
  return said.at(-1);
}

/** The execution UUID cc-executor put in a prompt (the first UUID4 in it). */
export function uuidIn(text: string): string | undefined {
  return UUID_RE.exec(text)?.[0];
}

/** Whether the prompt asks for cc-executor's JSON answer (the instruction names execution_uuid and files_created). */
export function wantsJsonAnswer(prompt: string): boolean {
  return /execution_uuid/.test(prompt) && /files_created/.test(prompt);
}

function describeRequest(seq: number, method: string, url: string, headers: IncomingHttpHeaders, rawBody: string, sessionIndex: (id: string | undefined) => number): ApiRequest {
  const parsed = new URL(url, "http://127.0.0.1");
  let body: any;
  try {
    body = rawBody ? JSON.parse(rawBody) : undefined;
  } catch {
    body = undefined;
  }
  const messages: ApiMessage[] = Array.isArray(body?.messages) ? body.messages : [];
  const turns = messages.filter((m) => m.role !== "system");
  const lastUser = [...turns].reverse().find((m) => m.role === "user");
  const sessionId = typeof headers["x-claude-code-session-id"] === "string" ? headers["x-claude-code-session-id"] : undefined;
  const system = Array.isArray(body?.system) ? body.system.map((b: ContentBlock) => b.text ?? "").join("\n") : typeof body?.system === "string" ? body.system : "";
  return {
    seq,
    method,
    path: parsed.pathname,
    query: Object.fromEntries(parsed.searchParams),
    headers,
    body,
    rawBody,
    receivedAt: Date.now(),
    sessionId,
    sessionIndex: sessionIndex(sessionId),
    model: body?.model,
    messages,
    turns,
    prompt: userText(turns.find((m) => m.role === "user")),
    latestPrompt: [...turns].reverse().filter((m) => m.role === "user").map(userText).find((t) => t.trim() !== "") ?? "",
    turn: turns.filter((m) => m.role === "assistant").length,
    toolNames: Array.isArray(body?.tools) ? body.tools.map((t: { name?: string }) => t.name ?? "") : [],
    toolResults: blocksOf(lastUser)
      .filter((b) => b.type === "tool_result")
      .map((b) => ({ toolUseId: b.tool_use_id ?? "", text: textOf(b.content), isError: b.is_error === true })),
    system,
    workingDirectory: workingDirectoryOf(system, messages),
  };
}

// --- default behaviour --------------------------------------------------------------------------

/**
 * The answer of a well-behaved model to a cc-executor task: the JSON answer through StructuredOutput
 * when the CLI offers it (--json-schema), the JSON object as text when the prompt asks for one
 * without it, else a line of text; the execution UUID from the prompt is included either way.
 */
export function obedientAnswer(req: ApiRequest, resultText = `Done: ${firstLine(req.prompt)}`): Reply {
  const uuid = uuidIn(req.prompt);
  if (req.toolResults.length > 0 && req.messages.length > 0) {
    // The StructuredOutput call (or another tool) has been answered: finish the turn.
    return reply.text(uuid ? `${resultText}\n\n${uuid}` : resultText);
  }
  if (wantsJsonAnswer(req.prompt)) {
    const answer = { result: resultText, summary: `Summary: ${firstLine(req.prompt)}`, files_created: [], files_modified: [], execution_uuid: uuid ?? "" };
    if (req.toolNames.includes("StructuredOutput")) return reply.structured(answer);
    return reply.text(JSON.stringify(answer));
  }
  return reply.text(uuid ? `${resultText}\n\n${uuid}` : resultText);
}

export function firstLine(text: string): string {
  return text.replace(/\[api:[^\]]*\]/g, "").trim().split("\n")[0]!.slice(0, 80);
}

/**
 * Scenario markers in the prompt, for tests that need no handler of their own:
 *   [api:auth] [api:rate_limit] [api:overloaded] [api:prompt_too_long] [api:billing]
 *   [api:max_tokens] [api:usage_limit:<seconds until reset>] [api:stall] [api:slow:<ms>]
 *   [api:<scenario>:once]: only the first session (CLI process) with this prompt fails; later ones succeed
 * Anything else: obedientAnswer.
 */
export const markerHandler: Handler = (req, ctx) => {
  const m = /\[api:([a-z_]+)(?::(-?\d+))?(:once)?\]/.exec(req.prompt);
  if (!m) return obedientAnswer(req);
  const [, scenario, arg, once] = m;
  if (once) {
    const firstSession = ctx.api.requests.find((r) => r.prompt === req.prompt)?.sessionId;
    if (firstSession !== req.sessionId) return obedientAnswer(req);
  }
  switch (scenario) {
    case "auth":
      return reply.auth();
    case "rate_limit":
      return reply.rateLimit(Number(arg ?? 1));
    case "overloaded":
      return reply.overloaded();
    case "prompt_too_long":
      return reply.promptTooLong();
    case "billing":
      return reply.billing();
    case "max_tokens":
      return reply.maxTokens();
    case "usage_limit":
      return reply.usageLimit(Math.floor(Date.now() / 1000) + Number(arg ?? 3600));
    case "stall":
      return reply.stall();
    case "slow":
      return reply.delayed(Number(arg ?? 1000), obedientAnswer(req));
    default:
      return obedientAnswer(req);
  }
};

// --- the server ---------------------------------------------------------------------------------

export interface MessagesApi {
  /** http://127.0.0.1:<port>: the value for ANTHROPIC_BASE_URL. */
  readonly url: string;
  /** Every request, in arrival order. */
  readonly requests: ApiRequest[];
  /** Conversation calls only (POST /v1/messages). */
  messageRequests(): ApiRequest[];
  /** Session ids in order of first appearance (one per CLI process). */
  sessions(): string[];
  /** Replaces the handler (the default is markerHandler). */
  setHandler(handler: Handler): void;
  waitForRequests(count: number, timeoutMs?: number): Promise<void>;
  /** Ends stalled streams and stops listening. */
  close(): Promise<void>;
}

export async function startMessagesApi(options: { handler?: Handler } = {}): Promise<MessagesApi> {
  let handler: Handler = options.handler ?? markerHandler;
  const requests: ApiRequest[] = [];
  const sessionOrder: string[] = [];
  const sockets = new Set<Socket>();
  const sessionIndex = (id: string | undefined) => {
    if (id === undefined) return -1;
    let i = sessionOrder.indexOf(id);
    if (i === -1) i = sessionOrder.push(id) - 1;
    return i;
  };

  const server: Server = createServer((req, res) => {
    void serve(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ type: "error", error: { type: "api_error", message: `double failed: ${(err as Error).message}` } }));
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request = describeRequest(requests.length + 1, req.method ?? "GET", req.url ?? "/", req.headers, Buffer.concat(chunks).toString("utf8"), sessionIndex);
    const earlier = requests.filter((r) => r.sessionId !== undefined && r.sessionId === request.sessionId);
    requests.push(request);

    if (request.method === "HEAD") {
      // The CLI checks that the API root answers before its first call.
      res.writeHead(200);
      res.end();
      return;
    }
    if (request.method === "POST" && request.path === "/v1/messages/count_tokens") {
      return json(res, 200, { input_tokens: Math.ceil(request.rawBody.length / 4) });
    }
    if (request.method !== "POST" || request.path !== "/v1/messages") {
      return json(res, 404, { type: "error", error: { type: "not_found_error", message: `the double does not serve ${request.method} ${request.path}` } });
    }
    const answer = await handler(request, { api, earlier });
    if (answer.delayMs) await sleep(answer.delayMs);
    if (res.destroyed) return;
    switch (answer.kind) {
      case "error":
        return json(res, answer.status, { type: "error", error: { type: answer.errorType, message: answer.message } }, answer.headers);
      case "disconnect":
        res.socket?.destroy();
        return;
      case "stall":
        res.writeHead(200, sseHeaders());
        res.write(sse("message_start", messageStart(request, DEFAULT_USAGE)));
        return; // left open: closed by the client or by close()
      case "message":
        return stream(res, request, answer);
    }
  }

  async function stream(res: ServerResponse, request: ApiRequest, answer: Extract<Reply, { kind: "message" }>): Promise<void> {
    const usage = { ...DEFAULT_USAGE, ...answer.usage };
    const stopReason = answer.stopReason ?? (answer.content.some((b) => b.type === "tool_use") ? "tool_use" : "end_turn");
    if (request.body?.stream === false) {
      // Not used by the CLI for conversation calls, answered for completeness.
      return json(res, 200, { ...messageStart(request, usage).message, content: answer.content.map(finalBlock), stop_reason: stopReason, usage }, answer.headers);
    }
    res.writeHead(200, { ...sseHeaders(), ...answer.headers });
    const events: Array<[string, unknown]> = [["message_start", messageStart(request, { ...usage, output_tokens: 1 })]];
    answer.content.forEach((block, index) => {
      if (block.type === "text") {
        events.push(["content_block_start", { type: "content_block_start", index, content_block: { type: "text", text: "" } }]);
        for (const piece of pieces(block.text, 64)) events.push(["content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text: piece } }]);
      } else {
        const id = block.id ?? `toolu_${randomBytes(12).toString("hex")}`;
        events.push(["content_block_start", { type: "content_block_start", index, content_block: { type: "tool_use", id, name: block.name, input: {} } }]);
        for (const piece of pieces(JSON.stringify(block.input ?? {}), 48)) events.push(["content_block_delta", { type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: piece } }]);
      }
      events.push(["content_block_stop", { type: "content_block_stop", index }]);
    });
    events.push(["message_delta", { type: "message_delta", delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }]);
    events.push(["message_stop", { type: "message_stop" }]);
    for (const [name, data] of events) {
      if (answer.eventDelayMs) await sleep(answer.eventDelayMs);
      if (res.destroyed) return;
      res.write(sse(name, data));
    }
    res.end();
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;

  const api: MessagesApi = {
    url: `http://127.0.0.1:${port}`,
    requests,
    messageRequests: () => requests.filter((r) => r.method === "POST" && r.path === "/v1/messages"),
    sessions: () => [...sessionOrder],
    setHandler: (h) => {
      handler = h;
    },
    async waitForRequests(count, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (api.messageRequests().length < count) {
        if (Date.now() > deadline) throw new Error(`the Messages API double got ${api.messageRequests().length} of ${count} requests in ${timeoutMs} ms`);
        await sleep(20);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return api;
}

function messageStart(request: ApiRequest, usage: Usage) {
  return {
    type: "message_start",
    message: {
      id: `msg_${randomBytes(12).toString("hex")}`,
      type: "message",
      role: "assistant",
      model: request.model ?? "claude-sonnet-4-6",
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...usage, service_tier: "standard" },
    },
  };
}

function finalBlock(block: ReplyBlock) {
  return block.type === "text" ? block : { type: "tool_use", id: block.id ?? `toolu_${randomBytes(12).toString("hex")}`, name: block.name, input: block.input };
}

function sseHeaders(): Record<string, string> {
  return { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive", "request-id": `req_${randomBytes(12).toString("hex")}` };
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", "request-id": `req_${randomBytes(12).toString("hex")}`, ...headers });
  res.end(JSON.stringify(body));
}

/** Splits text into pieces of at most n characters (at least one piece, possibly empty). */
function pieces(text: string, n: number): string[] {
  if (text.length <= n) return [text];
  const out: string[] = [];
  for (let i = 0; i < text.length; i += n) out.push(text.slice(i, i + n));
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
