/**
 * Hostile input against the real server process: more than 10,000 random and mutated frames
 * (fast-check), slowloris upgrades, a connection flood past MAX_SESSIONS, tokens in the wrong
 * place, and path traversal through every id or path parameter. While the fuzzing runs, a
 * well-behaved client keeps running commands and checks every result.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import fc from "fast-check";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecutorClient } from "../../src/client/index.js";
import { tokensEqual } from "../../src/server/auth.js";
import { HTTP_TIMEOUTS } from "../../src/server/server.js";
import { FAKE_CLAUDE } from "../helpers/fake-claude.js";
import { processTable, waitUntil } from "../helpers/procs.js";
import { rssBytes, spawnServerProcess, type ServerProcess } from "../helpers/server-process.js";
import { RawPeer, startTestServer } from "../helpers/server.js";

const MAX_SESSIONS = 20;
const MAX_MESSAGE = 64 * 1024;
/** Every code the protocol may answer a request with (docs/protocol.md), except -32603 (a bug) and -32003 (at connect only). */
const REQUEST_CODES = new Set([-32700, -32600, -32601, -32602, -32001, -32002, -32004]);

let srv: ServerProcess;
let cwd: string;
let framesSent = 0;

beforeAll(async () => {
  cwd = mkdtempSync(join(tmpdir(), "cce-fuzz-cwd-")); // mutated commands that happen to be valid run here
  srv = await spawnServerProcess(
    {
      MAX_SESSIONS: String(MAX_SESSIONS),
      CC_EXECUTOR_MAX_MESSAGE_SIZE: String(MAX_MESSAGE),
      CLAUDE_BIN: FAKE_CLAUDE,
      FAKE_CLAUDE_SCENARIO: "success",
      FAKE_CLAUDE_STATE_DIR: join(cwd, ".fake-claude"),
      CC_EXECUTOR_CLAUDE_RETRY_DELAY_MS: "10",
      // this process is the server's own user: without this, token-less loopback peers are let in (peer auth)
      CC_EXECUTOR_PEER_AUTH: "false",
    },
    { cwd },
  );
});
afterAll(async () => {
  const out = await srv.stop();
  expect(out.code).toBe(0); // it was still up, and stopped cleanly
});

const fds = () => readdirSync(`/proc/${srv.pid}/fd`).length;
const fdTargets = () => readdirSync(`/proc/${srv.pid}/fd`).map((fd) => {
  try {
    return readlinkSync(`/proc/${srv.pid}/fd/${fd}`);
  } catch {
    return "?";
  }
});
const serverAlive = () => processTable().some((p) => p.pid === srv.pid && p.state !== "Z");

// ---- a peer that tells which responses belong to which frame ---------------------------------

interface Msg {
  id?: unknown;
  method?: string;
  params?: any;
  result?: any;
  error?: { code: number; message: string };
}

type Expect =
  | { kind: "close"; code: number }
  | { kind: "error"; code: number; id: unknown; mentions?: string }
  | { kind: "result"; id: unknown }
  | { kind: "none" }
  /** Anything the protocol allows: at most one response, a documented code, never -32603. */
  | { kind: "any" };

interface Frame {
  what: string;
  data: string | Buffer;
  binary?: boolean;
  expect: Expect;
}

/**
 * A raw WebSocket peer. After each fuzz frame it sends a `hook_status` sentinel: the server
 * handles a session's messages in order, so every response before the sentinel's answer is the
 * fuzz frame's, and "no answer" can be told from "slow answer".
 */
class FuzzPeer {
  private ws!: WebSocket;
  private msgs: Msg[] = [];
  private closed: number | undefined;
  private wake: (() => void) | undefined;
  private n = 0;

  static async open(): Promise<FuzzPeer> {
    const p = new FuzzPeer();
    await p.connect();
    return p;
  }

  private async connect(): Promise<void> {
    this.msgs = [];
    this.closed = undefined;
    const ws = new WebSocket(srv.url, { headers: { authorization: `Bearer ${srv.token}` } });
    ws.on("message", (data) => {
      this.msgs.push(JSON.parse(data.toString()));
      this.wake?.();
    });
    ws.on("close", (code) => {
      this.closed = code;
      this.wake?.();
    });
    ws.on("error", () => undefined);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    this.ws = ws;
    await this.until(() => this.msgs.some((m) => m.method === "connected"), "connected");
    this.msgs = [];
  }

  private async until(cond: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 100);
      });
    }
  }

  async check(frame: Frame): Promise<void> {
    framesSent++;
    const sentinel = `sentinel-${++this.n}`;
    this.msgs = [];
    this.ws.send(frame.data, { binary: frame.binary === true }, () => undefined);
    this.ws.send(JSON.stringify({ jsonrpc: "2.0", id: sentinel, method: "hook_status" }), () => undefined);
    await this.until(() => this.closed !== undefined || this.msgs.some((m) => m.id === sentinel && !m.method), `the answer to ${frame.what}`);
    const upTo = this.msgs.findIndex((m) => m.id === sentinel && !m.method);
    const responses = (upTo === -1 ? this.msgs : this.msgs.slice(0, upTo)).filter((m) => m.method === undefined);
    const context = () => `${frame.what}: ${JSON.stringify(typeof frame.data === "string" ? frame.data.slice(0, 300) : frame.data.subarray(0, 100).toString("hex"))} -> ${JSON.stringify(responses).slice(0, 500)} closed=${this.closed}`;
    const e = frame.expect;
    for (const r of responses) {
      if (r.error && !REQUEST_CODES.has(r.error.code)) throw new Error(`undocumented or internal error code ${r.error.code} (${r.error.message}) for ${context()}`);
    }
    if (e.kind === "close") {
      if (this.closed !== e.code) throw new Error(`expected close ${e.code}, got ${context()}`);
      await this.connect();
      return;
    }
    if (this.closed !== undefined) {
      const message = `connection closed unexpectedly: ${context()}`;
      await this.connect(); // the next frame starts on a fresh connection
      throw new Error(message);
    }
    if (responses.length > 1) throw new Error(`more than one response: ${context()}`);
    const r = responses[0];
    switch (e.kind) {
      case "none":
        if (r) throw new Error(`expected no response: ${context()}`);
        break;
      case "result":
        if (!r || r.error || !("result" in r) || !sameId(r.id, e.id)) throw new Error(`expected a result with id ${JSON.stringify(e.id)}: ${context()}`);
        break;
      case "error":
        if (!r?.error || r.error.code !== e.code || !sameId(r.id, e.id)) throw new Error(`expected error ${e.code} with id ${JSON.stringify(e.id)}: ${context()}`);
        if (e.mentions && !r.error.message.includes(e.mentions)) throw new Error(`expected the message to name ${e.mentions}: ${context()}`);
        break;
      case "any":
        break;
    }
    this.msgs = [];
  }

  close(): void {
    this.ws.terminate();
  }
}

function sameId(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Frames print as one short line in fast-check's reports (some hold 250 KB of payload). */
function short(frame: Frame): Frame {
  const shown = typeof frame.data === "string" ? frame.data.slice(0, 120) : `<${frame.data.length} bytes> ${frame.data.subarray(0, 60).toString("hex")}`;
  return Object.defineProperty(frame, fc.toStringMethod, { value: () => `${frame.what}${frame.binary ? " (binary)" : ""}: ${JSON.stringify(shown)} expect ${JSON.stringify(frame.expect)}` });
}

/** Runs a batch of frames spread over the peers (each peer checks its frames in order). */
async function fire(peers: FuzzPeer[], frames: Frame[]): Promise<void> {
  // allSettled: a failing peer must not leave the others sending into the next batch
  const settled = await Promise.allSettled(
    peers.map(async (p, i) => {
      for (let j = i; j < frames.length; j += peers.length) await p.check(frames[j]!);
    }),
  );
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

// ---- what a request looks like, by the spec (docs/protocol.md) ------------------------------

const rpc = (method: string, params: unknown, id: unknown = 1) => ({ jsonrpc: "2.0", id, method, params });

/** Valid requests that are cheap and harmless to run (the base of mutations). */
const VALID: Array<{ method: string; params: Record<string, unknown> }> = [
  { method: "execute", params: { command: "true" } },
  { method: "execute", params: { command: ["true"], timeout: 5, shell: "sh", env: { A: "1" } } },
  { method: "control", params: { type: "CANCEL" } },
  { method: "attach", params: { execution_id: "no-such-execution", since_seq: 0 } },
  { method: "cc_execute", params: { prompt: "Say hi · héllo ☃ 😀", timeout: 10, uuid: false } },
  { method: "run_task_list", params: { tasks: [{ command: "true" }], name: "fuzz" } },
  { method: "hook_status", params: {} },
];

type Check = (v: unknown) => boolean;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const nestr: Check = (v) => typeof v === "string" && v.length > 0;
const str: Check = (v) => typeof v === "string";
const bool: Check = (v) => typeof v === "boolean";
const secs: Check = (v) => typeof v === "number" && Number.isFinite(v) && v > 0 && v <= 7 * 24 * 3600;
const int = (min: number, max = Number.MAX_SAFE_INTEGER): Check => (v) => Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
const oneOf = (...values: string[]): Check => (v) => typeof v === "string" && values.includes(v);
const strMap: Check = (v) => isObj(v) && Object.values(v).every((x) => typeof x === "string");
const strArr: Check = (v) => Array.isArray(v) && v.every((x) => typeof x === "string" && x.length > 0);
const nullish = (c: Check): Check => (v) => v === null || c(v);

/** Each param of each method with the values it accepts; anything else must be -32602 naming it. */
const PARAMS: Record<string, { base: Record<string, unknown>; params: Record<string, Check> }> = {
  execute: {
    base: { command: "true" },
    params: {
      command: (v) => nestr(v) || (Array.isArray(v) && v.length > 0 && v.every(str)),
      timeout: nullish(secs),
      inactivity_timeout: nullish(secs),
      cwd: nullish(nestr),
      env: nullish(strMap),
      shell: nullish(oneOf("zsh", "bash", "sh", "default")),
      resumable: nullish(bool),
    },
  },
  control: { base: {}, params: { type: (v) => typeof v === "string" && ["PAUSE", "RESUME", "CANCEL"].includes(v.toUpperCase()) } },
  attach: { base: { execution_id: "no-such-execution" }, params: { execution_id: nestr, since_seq: nullish(int(0)) } },
  cc_execute: {
    base: { prompt: "Say hi" },
    params: {
      prompt: nestr,
      json: nullish(bool),
      timeout: nullish(secs),
      model: nullish(nestr),
      max_turns: nullish(int(1)),
      tools: nullish(strArr),
      disallowed_tools: nullish(strArr),
      append_system_prompt: nullish(str),
      mcp_config: nullish(str),
      permission_mode: nullish(oneOf("default", "acceptEdits", "bypassPermissions", "plan", "dontAsk", "auto")),
      cwd: nullish(nestr),
      env: nullish(strMap),
      uuid: nullish(bool),
      wait_on_limit: nullish(bool),
      max_attempts: nullish(int(1, 20)),
      resumable: nullish(bool),
    },
  },
  run_task_list: {
    base: { tasks: [{ command: "true" }] },
    params: {
      tasks: (v) => Array.isArray(v) && v.length > 0,
      file: nullish(nestr),
      text: nullish(nestr),
      format: nullish(oneOf("markdown", "yaml", "json")),
      source: nullish(nestr),
      name: nullish(nestr),
      defaults: nullish(isObj),
      on_failure: nullish((v) => typeof v === "string" || (isObj(v) && typeof v.retry === "number")),
      resume_run_id: nullish((v) => typeof v === "string" && /^tl-[\w-]+$/.test(v)),
      concurrency: nullish(int(1, 64)),
      cwd: nullish(nestr),
      env: nullish(strMap),
      report: nullish(nestr),
      context_chars: nullish(int(500, 1_000_000)),
      resumable: nullish(bool),
    },
  },
};

const anyValue = fc.oneof(
  fc.integer({ min: -1e6, max: 1e6 }),
  fc.double({ noNaN: true }),
  fc.constantFrom(0, -1, 0.5, 1e308, -1e308, 2 ** 53 + 2, 7 * 24 * 3600 + 1, 65, 21, 499, 1_000_001),
  fc.boolean(),
  fc.string({ maxLength: 20 }),
  fc.constantFrom("", "PAUSED", "tl-", "../../etc", "bash ", "x"),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.constant(null), fc.constant("")), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.constant(null)), { maxKeys: 3 }),
  fc.constant({ retry: "2" }),
);

/** One wrong-typed (or out-of-range) param on an otherwise valid request. */
const wrongParam: fc.Arbitrary<Frame> = fc
  .tuple(fc.constantFrom(...Object.keys(PARAMS)), fc.nat(), anyValue, fc.integer({ min: 1, max: 1e9 }))
  .map(([method, pick, value, id]) => {
    const spec = PARAMS[method]!;
    const names = Object.keys(spec.params);
    const name = names[pick % names.length]!;
    return { method, name, value, id, ok: spec.params[name]!(JSON.parse(JSON.stringify(value))) };
  })
  .filter((x) => !x.ok)
  .map(({ method, name, value, id }) => {
    const base = { ...PARAMS[method]!.base };
    if (method === "run_task_list" && name !== "tasks" && ["file", "text", "resume_run_id"].includes(name)) delete base.tasks;
    return { what: `wrong ${method}.${name}`, data: JSON.stringify(rpc(method, { ...base, [name]: value }, id)), expect: { kind: "error", code: -32602, id, mentions: name } };
  });

const missingRequired: fc.Arbitrary<Frame> = fc.constantFrom(
  ["execute", "command"],
  ["cc_execute", "prompt"],
  ["attach", "execution_id"],
  ["control", "type"],
).map(([method, name]) => ({ what: `missing ${method}.${name}`, data: JSON.stringify(rpc(method!, {}, 7)), expect: { kind: "error" as const, code: -32602, id: 7, mentions: name } }));

/** Names no method has: every real method is lowercase letters, dots and underscores; "fuzz." is never used. */
const unknownMethod = fc.oneof(fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !/^[a-z][a-z_.]*$/.test(s)), fc.stringMatching(/^[a-z_]{1,20}$/).map((s) => `fuzz.${s}`));

/** JSON-RPC envelopes around an unknown method, with the answer the spec gives for each. */
const envelope: fc.Arbitrary<Frame> = fc
  .record(
    {
      jsonrpc: fc.constantFrom("2.0", "2.0", "2.0", "1.0", 2, null),
      id: fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.constant(null), fc.double(), fc.boolean(), fc.array(fc.integer(), { maxLength: 2 }), fc.object({ maxDepth: 1 })),
      method: fc.oneof({ weight: 5, arbitrary: unknownMethod }, fc.integer(), fc.constant(""), fc.boolean(), fc.constant(null)),
      params: fc.oneof({ weight: 4, arbitrary: fc.object({ maxDepth: 2 }) }, fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.string({ maxLength: 5 }), fc.integer()),
    },
    { requiredKeys: [] },
  )
  .map((m) => {
    const text = JSON.stringify(m);
    const sent = JSON.parse(text) as Record<string, unknown>; // what the server sees (NaN -> null, -0 -> 0, ...)
    return { what: "envelope", data: text, expect: envelopeAnswer(sent) };
  });

function envelopeAnswer(m: Record<string, unknown>): Expect {
  const hasId = "id" in m;
  const id = m.id;
  const validId = id === null || typeof id === "string" || (typeof id === "number" && Number.isFinite(id));
  if (hasId && !validId) return { kind: "error", code: -32600, id: null };
  const answerId = hasId ? id : null;
  if ("jsonrpc" in m && m.jsonrpc !== "2.0") return { kind: "error", code: -32600, id: answerId };
  if (typeof m.method !== "string" || m.method === "") return { kind: "error", code: -32600, id: answerId };
  const p = m.params;
  if (p !== undefined && p !== null && (typeof p !== "object" || Array.isArray(p))) return { kind: "error", code: -32602, id: answerId };
  return hasId ? { kind: "error", code: -32601, id } : { kind: "none" };
}

const validText = (i: number, id: unknown = 1) => JSON.stringify(rpc(VALID[i % VALID.length]!.method, VALID[i % VALID.length]!.params, id));

/** A valid request cut short anywhere (at a byte: multi-byte characters may be split). */
const truncated: fc.Arbitrary<Frame> = fc.tuple(fc.nat(), fc.nat()).map(([i, at]) => {
  const bytes = Buffer.from(validText(i));
  const cut = bytes.subarray(0, at % bytes.length);
  return utf8Frame("truncated", cut, { kind: "error", code: -32700, id: null });
});

/** A valid request with 1-4 bytes changed, inserted or deleted. */
const mutated: fc.Arbitrary<Frame> = fc
  .tuple(fc.nat(), fc.array(fc.tuple(fc.constantFrom("set", "insert", "delete"), fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }))
  .map(([i, ops]) => {
    const bytes = [...Buffer.from(validText(i))];
    for (const [op, at, b] of ops) {
      const k = at % (bytes.length + 1);
      if (op === "set" && k < bytes.length) bytes[k] = b;
      else if (op === "insert") bytes.splice(k, 0, b);
      else if (k < bytes.length) bytes.splice(k, 1);
    }
    return utf8Frame("mutated", Buffer.from(bytes), { kind: "any" });
  });

/** Text frames that are not UTF-8 must close the connection with 1007 (ws validates). */
function utf8Frame(what: string, bytes: Buffer, otherwise: Expect): Frame {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return { what, data: bytes, binary: false, expect: otherwise };
  } catch {
    return { what: `${what} (invalid UTF-8)`, data: bytes, binary: false, expect: { kind: "close", code: 1007 } };
  }
}

const INVALID_UTF8 = [[0xff], [0xc0, 0x80], [0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80]];
const invalidUtf8: fc.Arbitrary<Frame> = fc.tuple(fc.nat(), fc.nat(), fc.constantFrom(...INVALID_UTF8)).map(([i, at, bad]) => {
  const bytes = Buffer.from(validText(i));
  const k = at % bytes.length;
  return { what: "invalid UTF-8", data: Buffer.concat([bytes.subarray(0, k), Buffer.from(bad), bytes.subarray(k)]), binary: false, expect: { kind: "close", code: 1007 } };
});

/** Random text (any Unicode, lone surrogates included), random JSON values and objects. */
const randomText: fc.Arbitrary<Frame> = fc
  .oneof(fc.string({ unit: "binary", maxLength: 200 }), fc.json({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? "null"), fc.string({ unit: fc.constantFrom("{", "}", "[", "]", '"', ":", ",", "\\", "1", "e", " "), maxLength: 80 }))
  .map((text) => ({ what: "random text", data: text, expect: { kind: "any" } }));

/** A known method with arbitrary params: anything allowed, never an internal error. */
const knownRandomParams: fc.Arbitrary<Frame> = fc
  .tuple(fc.constantFrom("execute", "control", "attach", "cc_execute", "run_task_list", "hook_status", "monitor.list", "monitor.watch", "monitor.control", "task_runs.list", "task_runs.get", "history.list"), fc.dictionary(fc.constantFrom("command", "type", "execution_id", "since_seq", "prompt", "tasks", "run_id", "limit", "file", "text", "x"), anyValue, { maxKeys: 3 }), fc.integer())
  .map(([method, params, id]) => {
    // never run a random string as a command, prompt or task list
    if (typeof params.command === "string" || Array.isArray(params.command)) params.command = 42;
    if (typeof params.prompt === "string") params.prompt = 42;
    if (Array.isArray(params.tasks)) params.tasks = 42;
    if (typeof params.text === "string") params.text = 42;
    return { what: `${method} with random params`, data: JSON.stringify(rpc(method, params, id)), expect: { kind: "any" } };
  });

/** Nesting around the 64-level limit: deeper is -32700, up to it is answered; brackets inside strings do not count. */
const nesting: fc.Arbitrary<Frame> = fc.tuple(fc.oneof(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 81, max: 30_000 })), fc.boolean(), fc.boolean(), fc.integer({ min: 1, max: 1e6 })).map(([depth, arrays, inString, id]) => {
  const open = arrays ? "[" : '{"a":';
  const close = arrays ? "]" : "}";
  const nested = open.repeat(depth) + "1" + close.repeat(depth);
  const value = inString ? JSON.stringify(nested) : nested;
  const text = `{"jsonrpc":"2.0","id":${id},"method":"hook_status","params":{"x":${value}}}`;
  // the envelope and params are levels 1 and 2
  const tooDeep = !inString && depth + 2 > 64;
  const expect: Expect = Buffer.byteLength(text) > MAX_MESSAGE ? { kind: "close", code: 1009 } : tooDeep ? { kind: "error", code: -32700, id: null } : { kind: "result", id };
  return { what: `nesting ${depth}${inString ? " in a string" : ""}`, data: text, expect };
});

/** Numbers that do not fit: as ids (Infinity is not an id) and as params. */
const HUGE = ["1e400", "-1e400", "123456789012345678901234567890", "1" + "0".repeat(5000), "1e-400", "-0", "9007199254740993", "0.0000000000000000000000001"];
const hugeNumbers: fc.Arbitrary<Frame> = fc.tuple(fc.constantFrom(...HUGE), fc.constantFrom("id", "execute.timeout", "execute.inactivity_timeout", "attach.since_seq", "cc_execute.max_turns", "cc_execute.max_attempts", "run_task_list.concurrency", "run_task_list.context_chars")).map(([literal, where]) => {
  const n = JSON.parse(literal) as number;
  if (where === "id") {
    const text = `{"jsonrpc":"2.0","id":${literal},"method":"fuzz.nothing"}`;
    return { what: `id ${literal.slice(0, 20)}`, data: text, expect: Number.isFinite(n) ? { kind: "error", code: -32601, id: n } : { kind: "error", code: -32600, id: null } };
  }
  const [method, name] = where.split(".") as [string, string];
  const ok = PARAMS[method]!.params[name]!(n);
  const base = JSON.stringify(PARAMS[method]!.base).slice(1, -1);
  const text = `{"jsonrpc":"2.0","id":5,"method":"${method}","params":{${base}${base ? "," : ""}"${name}":${literal}}}`;
  // a valid value is not an error; an attach to an unknown execution still is (-32602)
  const expect: Expect = !ok ? { kind: "error", code: -32602, id: 5, mentions: name } : method === "attach" ? { kind: "error", code: -32602, id: 5 } : { kind: "any" };
  return { what: `${where} = ${literal.slice(0, 20)}`, data: text, expect };
});

const binary: fc.Arbitrary<Frame> = fc.uint8Array({ maxLength: 300 }).map((b) => ({ what: "binary", data: Buffer.from(b), binary: true, expect: { kind: "error", code: -32600, id: null } }));

/** Over the limit by 1..N bytes closes with 1009; exactly at the limit is answered. */
const sized: fc.Arbitrary<Frame> = fc.tuple(fc.oneof(fc.constantFrom(-2, -1, 0, 1, 2), fc.integer({ min: 3, max: 200_000 })), fc.boolean()).map(([over, asBinary]) => {
  const size = MAX_MESSAGE + over;
  const head = '{"jsonrpc":"2.0","id":3,"method":"fuzz.big","params":{"pad":"';
  const text = head + "x".repeat(size - head.length - 3) + '"}}';
  const data = Buffer.from(text);
  if (over > 0) return { what: `${size} bytes`, data, binary: asBinary, expect: { kind: "close", code: 1009 } };
  return { what: `${size} bytes`, data, binary: asBinary, expect: asBinary ? { kind: "error", code: -32600, id: null } : { kind: "error", code: -32601, id: 3 } };
});

// ---- a well-behaved client running commands the whole time ---------------------------------

interface Background {
  stop(): Promise<{ runs: number; wrong: string[] }>;
}

function wellBehavedClient(): Background {
  let running = true;
  const wrong: string[] = [];
  let runs = 0;
  const loop = (async () => {
    const client = await ExecutorClient.connect({ url: srv.url, token: srv.token });
    try {
      while (running) {
        const tag = `ok-${runs}-${Math.random().toString(36).slice(2)}`;
        const r = runs % 5 === 4 ? await client.execute("seq 1 20000", { timeout: 20 }) : await client.execute(["printf", "%s", tag], { timeout: 20 });
        const want = runs % 5 === 4 ? Array.from({ length: 20000 }, (_, i) => `${i + 1}\n`).join("") : tag;
        if (r.status !== "completed" || r.stdout !== want) wrong.push(`${r.status} ${r.stdout.slice(0, 80)}`);
        runs++;
      }
    } finally {
      await client.close();
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { runs, wrong };
    },
  };
}

// ---- slowloris ---------------------------------------------------------------------------------

interface Slow {
  socket: Socket;
  openedAt: number;
  closedAfterMs?: number;
  reply: string;
}

/** Opens a TCP connection that starts an upgrade and then sends its headers a byte at a time (or never). */
function slowloris(mode: "drip" | "silent" | "almost"): Slow {
  const s: Slow = { socket: connect(srv.port, "127.0.0.1"), openedAt: Date.now(), reply: "" };
  let timer: NodeJS.Timeout | undefined;
  s.socket.on("connect", () => {
    if (mode === "silent") return;
    s.socket.write(`GET /ws/mcp HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nAuthorization: Bearer ${srv.token}\r\n`);
    if (mode === "drip") timer = setInterval(() => s.socket.write("X"), 400);
  });
  s.socket.on("data", (d) => (s.reply += d.toString()));
  s.socket.on("error", () => undefined);
  s.socket.on("close", () => {
    clearInterval(timer);
    s.closedAfterMs = Date.now() - s.openedAt;
  });
  return s;
}

// ---- the tests -----------------------------------------------------------------------------------

describe("fuzzing the WebSocket endpoint (10,000+ frames) while a well-behaved client works", () => {
  let peers: FuzzPeer[];
  let good: Background;
  let slow: Slow[];
  let fd0: number;
  let rss0: number;

  beforeAll(async () => {
    fd0 = fds();
    rss0 = rssBytes(srv.pid);
    slow = [...Array.from({ length: 30 }, () => slowloris("drip")), ...Array.from({ length: 10 }, () => slowloris("silent")), ...Array.from({ length: 10 }, () => slowloris("almost"))];
    good = wellBehavedClient();
    peers = await Promise.all([0, 1, 2, 3].map(() => FuzzPeer.open()));
  });

  const cases: Array<[string, fc.Arbitrary<Frame>, number]> = [
    ["wrong types and out-of-range values for every param of execute, control, attach, cc_execute, run_task_list", wrongParam, 2500],
    ["missing required params", missingRequired, 100],
    ["JSON-RPC envelopes around unknown methods (bad ids, versions, methods, params)", envelope, 1500],
    ["valid requests truncated at any byte", truncated, 1000],
    ["valid requests with bytes changed, inserted or deleted", mutated, 1500],
    ["random text and random JSON", randomText, 1500],
    ["known methods with random params", knownRandomParams, 600],
    ["nesting around the 64-level limit, and brackets inside strings", nesting, 400],
    ["huge and tiny numbers as ids and params", hugeNumbers, 300],
    ["binary frames", binary, 500],
    ["text frames that are not UTF-8 (close 1007)", invalidUtf8, 150],
    ["frames at and over the size limit (close 1009)", sized, 60],
  ];

  for (const [name, arb, count] of cases) {
    it(name, async () => {
      const batch = 20;
      await fc.assert(
        fc.asyncProperty(fc.array(arb.map(short), { minLength: batch, maxLength: batch }), (frames) => fire(peers, frames)),
        { numRuns: Math.ceil(count / batch), endOnFailure: true },
      );
      expect(serverAlive()).toBe(true);
    }, 60_000);
  }

  it(`sent more than 10,000 frames; the server is up, the good client got every result right, fds and memory are bounded`, async () => {
    for (const p of peers) p.close();
    const { runs, wrong } = await good.stop();
    expect(framesSent).toBeGreaterThanOrEqual(10_000);
    expect(wrong).toEqual([]);
    expect(runs).toBeGreaterThan(20);
    const h = (await (await fetch(`http://127.0.0.1:${srv.port}/health`)).json()) as { service: string };
    expect(h.service).toBe("cc-executor");
    await waitUntil(() => fds() <= fd0 + 2, 15_000, "server fds back near the start").catch((err: Error) => {
      throw new Error(`${err.message}: ${fd0} -> ${fdTargets().join(", ")}`);
    });
    const grown = rssBytes(srv.pid) - rss0;
    console.log(`fuzz: ${framesSent} frames; good client ${runs} runs; server RSS +${(grown / 1048576).toFixed(1)} MiB, fds ${fd0} -> ${fds()}`);
    expect(grown).toBeLessThan(150 * 1048576);
  });

  it(`slowloris: partial upgrades are answered 408 and dropped within the ${HTTP_TIMEOUTS.headersMs / 1000} s header timeout, not kept`, async () => {
    await waitUntil(() => slow.every((s) => s.closedAfterMs !== undefined), 20_000, "every slow connection closed");
    for (const s of slow) {
      expect(s.reply).toMatch(/^HTTP\/1\.1 408 /);
      expect(s.closedAfterMs!).toBeLessThan(HTTP_TIMEOUTS.headersMs + 3 * HTTP_TIMEOUTS.checkIntervalMs + 1000);
    }
  });
});

describe("a flood of connections past MAX_SESSIONS", () => {
  it(`3 x MAX_SESSIONS extra connections each get -32003 and close 1013; the ${MAX_SESSIONS} open sessions finish their work correctly`, async () => {
    const sessions = async () => ((await (await fetch(`http://127.0.0.1:${srv.port}/health`, { headers: { authorization: `Bearer ${srv.token}` } })).json()) as { active_sessions: number }).active_sessions;
    for (let i = 0; i < 100 && (await sessions()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await sessions()).toBe(0);
    const fd0 = fds();
    const clients = await Promise.all(Array.from({ length: MAX_SESSIONS }, () => ExecutorClient.connect({ url: srv.url, token: srv.token })));
    const work = clients.map((c, i) => c.execute(`sleep 1; printf ok-${i}`, { timeout: 20 }));
    const extra = await Promise.all(
      Array.from({ length: 3 * MAX_SESSIONS }, async () => {
        const ws = new WebSocket(srv.url, { headers: { authorization: `Bearer ${srv.token}` } });
        const first = new Promise<Msg>((resolve) => ws.once("message", (d) => resolve(JSON.parse(d.toString()))));
        const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
        ws.on("error", () => undefined);
        return { message: await first, code: await closed };
      }),
    );
    for (const e of extra) {
      expect(e.message).toMatchObject({ id: null, error: { code: -32003 } });
      expect(e.code).toBe(1013);
    }
    const results = await Promise.all(work);
    results.forEach((r, i) => expect(r).toMatchObject({ status: "completed", stdout: `ok-${i}` }));
    await Promise.all(clients.map((c) => c.close()));
    await waitUntil(() => fds() <= fd0, 10_000, `server fds back to ${fd0} (now ${fds()})`);
    // and a new session is accepted again
    const again = await ExecutorClient.connect({ url: srv.url, token: srv.token });
    expect((await again.execute("echo back")).stdout).toBe("back\n");
    await again.close();
  });
});

describe("auth", () => {
  const upgrade = (opts: { path?: string; headers?: Record<string, string>; protocols?: string[] } = {}) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${srv.port}${opts.path ?? "/ws/mcp"}`, opts.protocols ?? [], { headers: opts.headers });
      ws.once("open", () => (ws.close(), resolve(101)));
      ws.once("unexpected-response", (_req, res) => (res.resume(), resolve(res.statusCode ?? 0)));
      ws.once("error", () => undefined);
    });

  it("refuses a token anywhere but Authorization: Bearer or ?token=, and a wrong or partial token", async () => {
    const t = srv.token;
    const refused: Array<[string, Parameters<typeof upgrade>[0], number]> = [
      ["no token", {}, 401],
      ["wrong token, same length", { headers: { authorization: `Bearer ${"x".repeat(t.length)}` } }, 401],
      ["token without its last character", { headers: { authorization: `Bearer ${t.slice(0, -1)}` } }, 401],
      ["token with one more character", { headers: { authorization: `Bearer ${t}x` } }, 401],
      ["token in a custom header", { headers: { "x-cc-executor-token": t, "x-token": t, "x-api-key": t } }, 401],
      ["Authorization without a scheme", { headers: { authorization: t } }, 401],
      ["Authorization: Basic", { headers: { authorization: `Basic ${Buffer.from(`user:${t}`).toString("base64")}` } }, 401],
      ["Authorization: Token", { headers: { authorization: `Token ${t}` } }, 401],
      ["token in a cookie", { headers: { cookie: `token=${t}` } }, 401],
      ["token as a WebSocket subprotocol", { protocols: [t] }, 401],
      ["token in the path", { path: `/ws/mcp/${t}` }, 404],
      ["token as the path", { path: `/${t}` }, 404],
      ["token in another query parameter", { path: `/ws/mcp?access_token=${t}&auth=${t}` }, 401],
      ["a wrong Bearer wins over a right ?token=", { path: `/ws/mcp?token=${t}`, headers: { authorization: "Bearer wrong" } }, 401],
    ];
    for (const [what, opts, status] of refused) expect([what, await upgrade(opts)]).toEqual([what, status]);
    expect(await upgrade({ headers: { authorization: `bearer ${t}` } })).toBe(101); // the scheme is case-insensitive (RFC 7235)
    expect(await upgrade({ path: `/ws/mcp?token=${encodeURIComponent(t)}` })).toBe(101);
    expect(await upgrade({ path: `/ws?token=wrong`, headers: { authorization: `Bearer ${t}` } })).toBe(101);
  });

  it("refuses foreign and look-alike Origins even with the right token", async () => {
    const auth = { authorization: `Bearer ${srv.token}` };
    for (const origin of ["https://evil.example", "null", `http://127.0.0.1:${srv.port}.evil.example`, `http://127.0.0.1:${srv.port}@evil.example`, `http://127.0.0.1:${srv.port + 1}`, `file://`, `chrome-extension://abc`, `ws://127.0.0.1:${srv.port}`]) {
      expect([origin, await upgrade({ headers: { ...auth, origin } })]).toEqual([origin, 403]);
    }
    expect(await upgrade({ headers: { ...auth, origin: `http://127.0.0.1:${srv.port}` } })).toBe(101);
  });

  it("compares tokens in constant time without throwing on any length (sha-256 digests, timingSafeEqual)", () => {
    expect(tokensEqual("a", "a".repeat(64))).toBe(false);
    expect(tokensEqual("", "secret")).toBe(false);
    expect(tokensEqual(undefined, "secret")).toBe(false);
    expect(tokensEqual("s€crét 😀", "s€crét 😀")).toBe(true);
    fc.assert(fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), (a, b) => tokensEqual(a, b) === (a === b)), { numRuns: 2000 });
    fc.assert(fc.property(fc.string({ unit: "binary" }), (a) => tokensEqual(a, a)));
  });

  it("with --no-auth (loopback only) a DNS-rebinding page is refused: its Host is not a loopback name", async () => {
    const open = await startTestServer({ auth: false });
    try {
      const port = open.port;
      const tryHost = (host: string, origin?: string) =>
        new Promise<number>((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/mcp`, { headers: origin ? { host, origin } : { host } });
          ws.once("open", () => (ws.close(), resolve(101)));
          ws.once("unexpected-response", (_req, res) => (res.resume(), resolve(res.statusCode ?? 0)));
          ws.once("error", () => undefined);
        });
      // the page's own origin and the Host its browser sends both say evil.example: same-origin, yet refused
      expect(await tryHost(`evil.example:${port}`, `http://evil.example:${port}`)).toBe(403);
      expect(await tryHost(`evil.example:${port}`)).toBe(403);
      expect(await tryHost(`127.0.0.1.nip.io:${port}`)).toBe(403);
      for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) expect([host, await tryHost(host)]).toEqual([host, 101]);
      // the dashboard's data paths too: a rebinding page must not read output over plain HTTP
      const get = (host: string) =>
        new Promise<number>((resolve, reject) => {
          const s = connect(port, "127.0.0.1", () => s.write(`GET /auth/check HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
          let text = "";
          s.on("data", (d) => (text += d.toString()));
          s.on("error", reject);
          s.on("close", () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0)));
        });
      expect(await get(`evil.example:${port}`)).toBe(401);
      expect(await get(`127.0.0.1:${port}`)).toBe(204);
    } finally {
      await open.cleanup();
    }
  });

  it("the dashboard's output download needs the token too", async () => {
    const res = await fetch(`http://127.0.0.1:${srv.port}/executions/anything/output`);
    expect(res.status).toBe(401);
  });
});

describe("path traversal: ids that map to the state directory never leave it", () => {
  /** Raw HTTP, so that no client normalizes the path first. */
  const rawGet = (path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const s = connect(srv.port, "127.0.0.1", () => s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nAuthorization: Bearer ${srv.token}\r\nConnection: close\r\n\r\n`));
      let text = "";
      s.on("data", (d) => (text += d.toString()));
      s.on("error", reject);
      s.on("close", () => resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0), body: text.slice(text.indexOf("\r\n\r\n") + 4) }));
    });

  it("run ids (resume_run_id, task_runs.get) and execution ids (attach, monitor.watch) with ../ are refused, nothing outside is read", async () => {
    // a believable run folder outside the state directory, next to it
    const outside = join(dirname(srv.home), `tl-outside-${process.pid}`);
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, "checkpoint.json"), JSON.stringify({ run_id: "tl-x", tasks: [] }));
    const rel = `../../${outside.split("/").slice(-1)[0]}`;
    const peer = await RawPeer.open(srv.url, { token: srv.token });
    let id = 0;
    const ask = async (method: string, params: Record<string, unknown>) => (await peer.request(++id, method, params)).error;
    for (const bad of [rel, `tl-${rel}`, `tl-a/../../${outside}`, "tl-..", "tl-%2e%2e%2f", `tl-x\u0000/../../etc`, "tl-x/../../../token", outside, "/etc/passwd"]) {
      expect([bad, (await ask("run_task_list", { resume_run_id: bad }))?.code]).toEqual([bad, -32602]);
      expect([bad, (await ask("task_runs.get", { run_id: bad }))?.code]).toEqual([bad, -32602]);
      expect([bad, (await ask("attach", { execution_id: bad }))?.code]).toEqual([bad, -32602]);
      expect([bad, (await ask("monitor.watch", { execution_id: bad }))?.code]).toEqual([bad, -32602]);
    }
    await peer.close();
  });

  it("the dashboard serves an execution's output by id, and nothing else however the id is encoded", async () => {
    // positive control: a resumable execution's output is there, by its id
    const client = await ExecutorClient.connect({ url: srv.url, token: srv.token });
    const r = await client.execute("echo the-output", { resumable: true, timeout: 10 });
    await client.close();
    const ok = await rawGet(`/executions/${r.executionId}/output`);
    expect(ok.status).toBe(200);
    expect(ok.body).toContain("the-output");
    const token = readFileSync(join(srv.home, "token"), "utf8").trim();
    const pkg = readFileSync(join(import.meta.dirname, "..", "..", "package.json"), "utf8");
    for (const path of [
      "/executions/../token/output",
      "/executions/..%2Ftoken/output",
      "/executions/..%2F..%2Ftoken/output",
      "/executions/%2e%2e%2ftoken/output",
      "/executions/%2e%2e/output",
      "/executions/..%5c..%5ctoken/output",
      "/executions/....//token/output",
      `/executions/${r.executionId}%2F..%2F..%2Ftoken/output`,
      `/executions/${r.executionId}/../../token`,
      "/assets/../../package.json",
      "/assets/..%2F..%2F..%2Fpackage.json",
      "/assets/%2e%2e/%2e%2e/%2e%2e/package.json",
      "/assets/....//....//package.json",
      "//etc/passwd",
      "/token",
    ]) {
      const res = await rawGet(path);
      expect([path, res.status]).toEqual([path, expect.any(Number)]);
      expect(res.status === 404 || res.status === 400).toBe(true);
      expect(res.body).not.toContain(token);
      expect(res.body).not.toContain(pkg.slice(0, 40));
      expect(res.body).not.toContain("root:");
    }
  });

  it("`file` and `report` are paths on the server's machine by design; the run folder stays under runs/ whatever `name` and `source` say", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cce-fuzz-paths-"));
    writeFileSync(join(dir, "list.md"), "### Task 1: a\nMethod: direct\n```\necho from-a-file\n```\n");
    mkdirSync(join(dir, "sub"));
    const client = await ExecutorClient.connect({ url: srv.url, token: srv.token });
    // `..` in them is followed like any path: an authenticated client can run `cat` and `tee` anyway
    const fromFile = await client.runTaskList({ file: `${dir}/sub/../list.md` }, { cwd: dir, report: `${dir}/sub/../report.md` });
    expect(fromFile.status).toBe("completed");
    expect(readFileSync(join(dir, "report.md"), "utf8")).toContain(fromFile.run_id);
    const peer = await RawPeer.open(srv.url, { token: srv.token });
    const res = await peer.request(1, "run_task_list", { tasks: [{ command: "true" }], name: "../../../escape", cwd: dir });
    expect(res.result.state_path.startsWith(join(srv.home, "runs", "tl-"))).toBe(true);
    await peer.waitFor((m) => m.method === "tasklist.completed");
    const text = await peer.request(2, "run_task_list", { text: "### Task 1: a\nMethod: direct\n```\ntrue\n```\n", format: "markdown", source: "../../../../escape.md", cwd: dir });
    expect(text.result?.state_path ?? "").toMatch(new RegExp(`^${join(srv.home, "runs", "tl-")}`));
    await peer.waitFor((m) => m.method === "tasklist.completed" && m.params.run_id === text.result.run_id);
    await peer.close();
    await client.close();
    expect(existsSync(join(dirname(srv.home), "escape"))).toBe(false);
    expect(existsSync(join(dirname(srv.home), "escape.md"))).toBe(false);
  });
});
