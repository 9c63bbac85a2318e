/*
 * The real Claude Code CLI in both roles. The Messages API double plays the orchestrating model
 * and issues exactly the commands templates/cc_execute.md tells it to (read from the template's
 * fenced blocks, placeholders filled in), with the orchestrator's Bash timeouts set to a few
 * seconds; each worker (the real CLI again, started by cc-executor) gets a slow answer, several
 * times longer than those timeouts. A 3-task workflow must complete in order, each result must
 * reach the orchestrator, no worker may be killed and nothing may be left running. Variants:
 * Bash with background tasks on (the CLI's default), Bash with CLAUDE_CODE_DISABLE_BACKGROUND_TASKS=1,
 * and the MCP tool (`cc-executor mcp` from dist, `mcp__cc-executor__cc_execute`).
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLI, finished, runCli } from "../../helpers/cli.js";
import { obedientAnswer, reply, startMessagesApi, type ApiRequest, type MessagesApi, type Reply } from "../../helpers/messages-api.js";
import { processTable, waitUntil } from "../../helpers/procs.js";
import { isolateFromCallerClaudeEnv, realClaudeBin, realClaudeEnv } from "../../helpers/real-claude.js";

const TEMPLATE = readFileSync(new URL("../../../templates/cc_execute.md", import.meta.url), "utf8");
const TASKS = 3;
/** The orchestrator's Bash timeouts (BASH_DEFAULT_TIMEOUT_MS / BASH_MAX_TIMEOUT_MS). */
const BASH_DEFAULT_MS = 5000;
const BASH_MAX_MS = 6000;
/** How long each worker's model takes to answer: three times the Bash timeout (the worker runs longer still). */
const WORKER_ANSWER_MS = 15_000;
/** The orchestrator must be done by then (each variant took 105-135 s on a loaded two-core machine). */
const ORCHESTRATOR_LIMIT_MS = 360_000;

// ---- what the template says ------------------------------------------------------------------

/** The fenced blocks of a language in the template, in order. */
function fenced(lang: string): string[] {
  return [...TEMPLATE.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]!.trim());
}

/** The Bash commands the template gives for starting a worker and waiting for it. */
function templateCommands(): { start: (task: string) => string; wait: (id: string) => string } {
  const bash = fenced("bash");
  const start = bash.find((b) => b.includes("<task>") && b.includes("--detach"));
  const wait = bash.find((b) => b.includes("<id>") && /\bwait\b/.test(b));
  if (!start || !wait) throw new Error(`templates/cc_execute.md lost its start or wait block:\n${bash.join("\n---\n")}`);
  return { start: (task) => start.replace("<task>", task), wait: (id) => wait.replace("<id>", id) };
}

/** The MCP tool and the arguments the template gives for it. */
function templateMcpCall(): { tool: string; args: (task: string) => Record<string, unknown> } {
  const tool = /`(mcp__cc-executor__cc_execute)`/.exec(TEMPLATE)?.[1];
  const args = fenced("json").find((b) => b.includes("<task>"));
  if (!tool || !args) throw new Error("templates/cc_execute.md lost its MCP tool name or arguments");
  return { tool, args: (task) => JSON.parse(args.replace("<task>", task)) as Record<string, unknown> };
}

// ---- reading what the orchestrator got back --------------------------------------------------

/** The JSON document in a tool result: the whole text (MCP), or what a command printed (printJson: a "{" line to a "}" line). */
function jsonIn(text: string): any {
  for (const candidate of [text.trim(), /^\{$[\s\S]*?^\}$/m.exec(text)?.[0]]) {
    if (!candidate?.startsWith("{")) continue;
    try {
      return JSON.parse(candidate);
    } catch {
      // not this one
    }
  }
  return undefined;
}

type Seen =
  | { kind: "started"; id: string }
  | { kind: "starting" }
  | { kind: "final"; result: any }
  | { kind: "running" }
  | { kind: "background"; outputFile: string }
  | { kind: "killed" }
  | { kind: "other"; text: string };

function classify(text: string): Seen {
  const doc = jsonIn(text);
  if (doc?.wait_command && doc.status === "running" && doc.id && doc.finished === undefined) return { kind: "started", id: doc.id };
  if (doc?.status === "starting" && doc.started === false) return { kind: "starting" };
  if (doc && typeof doc.success === "boolean") return { kind: "final", result: doc };
  if (doc?.status === "running" && doc.finished === false) return { kind: "running" };
  const bg = /running in background with ID: \S+\. Output is being written to: (\S+)/i.exec(text);
  if (bg) return { kind: "background", outputFile: bg[1]! };
  if (/Exit code 143|timed out|killed/i.test(text)) return { kind: "killed" };
  return { kind: "other", text: text.slice(0, 500) };
}

type Call = "start" | "wait" | "read" | "mcp";

/** A tool call of the orchestrator and what came back, in conversation order. */
interface Exchange {
  call: Call;
  seen: Seen;
  /** read: the file it read. */
  path?: string;
}

function blockText(content: unknown): string {
  if (typeof content === "string") return content;
  return Array.isArray(content) ? content.map((c: any) => c.text ?? "").join("\n") : "";
}

function exchangesOf(req: ApiRequest): Exchange[] {
  const calls = new Map<string, { call: Call; path?: string }>();
  const out: Exchange[] = [];
  for (const m of req.messages) {
    if (typeof m.content === "string") continue;
    for (const b of m.content) {
      if (b.type === "tool_use") {
        const input = (b.input ?? {}) as { command?: string; file_path?: string };
        const call: Call = b.name === "Read" ? "read" : String(b.name).startsWith("mcp__") ? "mcp" : /--detach/.test(input.command ?? "") ? "start" : "wait";
        calls.set(b.id!, { call, path: input.file_path });
      } else if (b.type === "tool_result") {
        const c = calls.get(b.tool_use_id!);
        // Read shows the file with line numbers: take them off to see what the command printed
        if (c) out.push({ ...c, seen: classify(c.call === "read" ? blockText(b.content).replace(/^\s*\d+(→|\t)/gm, "") : blockText(b.content)) });
      }
    }
  }
  return out;
}

// ---- the scripted models -----------------------------------------------------------------------

interface Script {
  tokens: string[];
  prompts: string[];
  /** Every exchange the orchestrator had, as seen at its last request. */
  exchanges: Exchange[];
}

const workerPrompt = (k: number, previous: string | undefined) => `Task ${k} of ${TASKS} [worker ${k}]: write the step ${k} note. Earlier result: ${previous ?? "none"}.`;
const workerOf = (req: ApiRequest) => Number(/\[worker (\d)\]/.exec(req.prompt)?.[1] ?? 0);

/**
 * The orchestrating model, following cc_execute.md: start task 1; a start gives an id to wait
 * for; "still running" (or a wait cut off) means the same wait again; a start that found the
 * server still starting (or was killed) is run again; a start moved to the background is not run
 * again but its output file is read once it has finished; a final result means the next task
 * (given that result) or, after the last, the end. Its state is read from the conversation, so
 * extra turns (background notifications) are harmless.
 */
function orchestratorReply(req: ApiRequest, script: Script, via: "bash" | "mcp"): Reply {
  const all = exchangesOf(req);
  script.exchanges = all;
  const finals = all.flatMap((e) => (e.seen.kind === "final" ? [e.seen.result] : []));
  const done = finals.length;
  if (done >= TASKS) return reply.text(`ALL DONE: ${finals.map((f) => f.result).join(" | ")}`);
  const current = all.slice(all.map((e) => e.seen.kind).lastIndexOf("final") + 1); // this task's exchanges
  const prompt = workerPrompt(done + 1, finals.at(-1)?.result);
  script.prompts[done] = prompt;
  const start = (): Reply => {
    if (via === "mcp") {
      const call = templateMcpCall();
      return reply.toolUse(call.tool, call.args(prompt), { text: `Task ${done + 1}.` });
    }
    return reply.toolUse("Bash", { command: templateCommands().start(prompt), description: `start task ${done + 1}` });
  };
  const id = current.flatMap((e) => (e.seen.kind === "started" ? [e.seen.id] : [])).at(-1);
  if (id) return reply.toolUse("Bash", { command: templateCommands().wait(id), description: "wait for the worker" });
  const startsInBackground = current.filter((e) => e.call === "start" && e.seen.kind === "background");
  if (startsInBackground.length > 0) {
    const file = (startsInBackground.at(-1)!.seen as Extract<Seen, { kind: "background" }>).outputFile;
    const lastRead = current.at(-1)?.call === "read";
    // Read it; if it is not complete yet, end the turn: the CLI starts another when the command ends.
    return lastRead ? reply.text("The start command is still running in the background.") : reply.toolUse("Read", { file_path: file });
  }
  return start(); // nothing started yet, the server was still starting, or the start was killed
}

function handler(script: Script, via: "bash" | "mcp") {
  return (req: ApiRequest): Reply => {
    if (/\[orchestrator\]/.test(req.prompt)) return orchestratorReply(req, script, via);
    const k = workerOf(req);
    if (k === 0) return reply.text("not part of this test");
    script.tokens[k - 1] ??= `RESULT-${k}-${Math.random().toString(36).slice(2, 10)}`;
    const answer = obedientAnswer(req, script.tokens[k - 1]!);
    // Slow only where the model "thinks": the first call of the worker's session.
    return req.turn === 0 ? reply.delayed(WORKER_ANSWER_MS, answer) : answer;
  };
}

// ---- running the orchestrator --------------------------------------------------------------------

/** Processes that carry this run's tag in their environment: everything the orchestrator started, however deep. */
function tagged(tag: string): Array<{ pid: number; cmdline: string }> {
  return processTable()
    .filter((p) => p.state !== "Z" && p.state !== "X")
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p.pid}/environ`, "utf8").split("\0").includes(`CCE_E2E_TAG=${tag}`);
      } catch {
        return false;
      }
    })
    .map((p) => ({ pid: p.pid, cmdline: p.cmdline.slice(0, 160) }));
}

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  home: string;
  env: Record<string, string>;
  tag: string;
}

/** Every run's tag and state dir, for the clean-up after a failed test. */
const started: Array<{ tag: string; env: Record<string, string> }> = [];

/** After a failure: nothing of the run may outlive the test (its server first, so that it reaps its groups). */
async function cleanUp(): Promise<void> {
  for (const { tag, env } of started.splice(0)) {
    const leftovers = tagged(tag);
    if (leftovers.length === 0) continue;
    await runCli(["server", "stop"], { env }).catch(() => undefined);
    for (const p of tagged(tag)) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
}

async function runOrchestrator(api: MessagesApi, options: { backgroundTasks: boolean; mcp: boolean }): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), "cce-orch-"));
  const bin = join(dir, "bin");
  const project = join(dir, "project");
  for (const d of [bin, project]) mkdirSync(d, { recursive: true });
  // cc-executor on the orchestrator's PATH: the built CLI.
  writeFileSync(join(bin, "cc-executor"), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(bin, "cc-executor"), 0o755);
  const tag = Math.random().toString(36).slice(2, 12);
  const home = join(dir, "cce-home");
  const env: Record<string, string> = {
    ...realClaudeEnv(api).env,
    PATH: `${bin}:${process.env.PATH}`,
    CC_EXECUTOR_HOME: home,
    CC_EXECUTOR_PORT: String(20000 + Math.floor(Math.random() * 30000)),
    BASH_DEFAULT_TIMEOUT_MS: String(BASH_DEFAULT_MS),
    BASH_MAX_TIMEOUT_MS: String(BASH_MAX_MS),
    CCE_E2E_TAG: tag,
    NO_COLOR: "1",
    ...(options.backgroundTasks ? {} : { CLAUDE_CODE_DISABLE_BACKGROUND_TASKS: "1" }),
  };
  started.push({ tag, env });
  const args = ["-p", "--output-format", "stream-json", "--verbose"];
  if (options.mcp) {
    args.push("--mcp-config", JSON.stringify({ mcpServers: { "cc-executor": { command: process.execPath, args: [CLI, "mcp"] } } }), "--strict-mcp-config", "--allowedTools", templateMcpCall().tool);
  } else args.push("--allowedTools", "Bash(cc-executor *)", "Read");
  args.push("--", `[orchestrator] Run the ${TASKS} tasks of the plan, one after another, as cc_execute.md says.`);
  const t0 = Date.now();
  const child = spawn(realClaudeBin(), args, { cwd: project, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const since = api.requests.length;
  const r = await finished(child, ORCHESTRATOR_LIMIT_MS).catch((err: Error) => {
    // What the double saw, to tell a stuck orchestrator from a stuck worker.
    const seen = api.requests.slice(since).map((q) => ({ seq: q.seq, session: q.sessionIndex, turn: q.turn, prompt: q.prompt.slice(0, 60), tools: q.toolResults.map((t) => t.text.slice(0, 200)) }));
    throw new Error(`${err.message.slice(0, 2000)}\nrequests: ${JSON.stringify(seen, null, 1)}`);
  });
  return { code: r.code, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0, home, env, tag };
}

// ---- checking what happened -------------------------------------------------------------------------

interface Timing {
  variant: string;
  total_ms: number;
  workers_ms: number[];
  starts: number;
  waits: number;
  backgrounded: number;
  killed: number;
}

const timings: Timing[] = [];

/** Everything the issue asks of a 3-task workflow, checked from the double's request log and the process table. */
async function checkWorkflow(api: MessagesApi, since: number, script: Script, out: Outcome, variant: string, via: "bash" | "mcp"): Promise<void> {
  expect(out.code, `${out.stderr}\n${out.stdout.slice(-3000)}`).toBe(0);
  const lines = out.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  const results = lines.filter((l) => l.type === "result");
  expect(results.at(-1)?.is_error).toBe(false);
  expect(results.some((r) => String(r.result).startsWith("ALL DONE:")), `the orchestrator did not finish: ${JSON.stringify({ results: results.map((r) => r.result), exchanges: script.exchanges })}`).toBe(true);

  // this run's conversation calls only
  const requests = api.requests.slice(since).filter((r) => r.method === "POST" && r.path === "/v1/messages");
  const orchestrator = requests.filter((r) => /\[orchestrator\]/.test(r.prompt));
  const workerSessions = (k: number) => [...new Set(requests.filter((r) => workerOf(r) === k).map((r) => r.sessionId))];
  const firstWorkerCall = (k: number) => requests.find((r) => workerOf(r) === k)!;
  /** The orchestrator request that carried worker k's final result back, in a tool_result. */
  const resultArrival = (k: number) =>
    orchestrator.find((r) => r.toolResults.some((t) => {
      const c = classify(t.text);
      return c.kind === "final" && String(c.result.result).includes(script.tokens[k - 1]!);
    }));

  for (let k = 1; k <= TASKS; k++) {
    // one worker process per task: nothing retried, nothing started twice
    expect(workerSessions(k), `worker ${k}`).toHaveLength(1);
    const arrival = resultArrival(k);
    expect(arrival, `worker ${k}'s result never reached the orchestrator`).toBeDefined();
    const final = arrival!.toolResults.map((t) => classify(t.text)).find((c) => c.kind === "final") as Extract<Seen, { kind: "final" }>;
    expect(final.result).toMatchObject({ success: true, uuid_verified: true, attempts: 1, result: script.tokens[k - 1] });
    // the worker ran to its end: its record says completed
    const record = JSON.parse(readFileSync(join(out.home, "runs", final.result.execution_id, "execution.json"), "utf8"));
    expect(record).toMatchObject({ kind: "claude", status: "completed" });
    if (k < TASKS) {
      // strictly in order: worker k+1 starts only after worker k's result reached the orchestrator
      expect(firstWorkerCall(k + 1).receivedAt).toBeGreaterThan(arrival!.receivedAt);
      // and it was given that result
      expect(firstWorkerCall(k + 1).prompt).toContain(script.tokens[k - 1]!);
    }
  }

  const ex = script.exchanges;
  const timing: Timing = {
    variant,
    total_ms: out.ms,
    workers_ms: Array.from({ length: TASKS }, (_, i) => resultArrival(i + 1)!.receivedAt - firstWorkerCall(i + 1).receivedAt),
    starts: ex.filter((e) => e.call === "start" || e.call === "mcp").length,
    waits: ex.filter((e) => e.call === "wait").length,
    backgrounded: ex.filter((e) => e.seen.kind === "background").length,
    killed: ex.filter((e) => e.seen.kind === "killed").length,
  };
  timings.push(timing);
  // (a Read of a start's output before that start has finished shows nothing useful yet)
  expect(ex.filter((e) => e.seen.kind === "other" && e.call !== "read").map((e) => e.seen), "answers the template does not explain").toEqual([]);

  // Nothing left running: the orchestrator is gone; only the server a detach started may remain, until stopped.
  await waitUntil(() => tagged(out.tag).every((p) => / server start /.test(p.cmdline)), 20_000, `only the server to remain: ${JSON.stringify(tagged(out.tag))}`);
  if (via === "bash") {
    expect(tagged(out.tag)).toHaveLength(1);
    const stop = await runCli(["server", "stop"], { env: out.env });
    expect(stop.code, stop.stderr).toBe(0);
  }
  expect(tagged(out.tag)).toEqual([]);
}

describe("real claude CLI as orchestrator and as worker, driven by templates/cc_execute.md", () => {
  let api: MessagesApi;
  afterEach(cleanUp);
  beforeAll(async () => {
    isolateFromCallerClaudeEnv();
    api = await startMessagesApi();
  });
  afterAll(async () => {
    await api.close();
    // For the record: how long each variant took (workers: first request to result at the orchestrator).
    for (const t of timings) process.stdout.write(`orchestrator e2e [${t.variant}]: ${(t.total_ms / 1000).toFixed(1)} s in all; workers ${t.workers_ms.map((m) => (m / 1000).toFixed(1)).join(" / ")} s (first request to result at the orchestrator); ${t.starts} start call(s), ${t.waits} wait call(s), ${t.backgrounded} moved to the background, ${t.killed} killed by the Bash timeout\n`);
  });

  const cases = [
    { variant: "Bash, background tasks on", backgroundTasks: true, mcp: false },
    { variant: "Bash, CLAUDE_CODE_DISABLE_BACKGROUND_TASKS=1", backgroundTasks: false, mcp: false },
    { variant: "MCP tool cc_execute", backgroundTasks: true, mcp: true },
  ];
  for (const c of cases) {
    it(`${c.variant}: 3 tasks in order, every result at the orchestrator, no worker killed, nothing left running`, async () => {
      const script: Script = { tokens: [], prompts: [], exchanges: [] };
      const via = c.mcp ? "mcp" : "bash";
      api.setHandler(handler(script, via));
      const since = api.requests.length;
      const out = await runOrchestrator(api, c);
      await checkWorkflow(api, since, script, out, c.variant, via);
    }, 420_000);
  }
});
