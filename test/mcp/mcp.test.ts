import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { trustHooksFile } from "../../src/hooks/index.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, runCli } from "../helpers/cli.js";
import { fakeClaude, type FakeClaudeEnv } from "../helpers/fake-claude.js";
import { liveGroupMembers, liveSleeps, processTable, uniqueSleep, waitUntil } from "../helpers/procs.js";

/**
 * The MCP server as Claude Code runs it: the built CLI (`node dist/cli/main.js mcp`) spawned by the
 * SDK's stdio client transport, talking to fake-claude (CLAUDE_BIN) with its own state directory.
 */

interface Connected {
  client: Client;
  transport: StdioClientTransport;
  pid: number;
  stderr: () => string;
  /** Errors the client transport saw (a non-JSON line on the server's stdout would land here). */
  errors: Error[];
}

let root: string;
let project: string;
let home: string;
let fc: FakeClaudeEnv;
let mcp: Connected;
const serverPids: number[] = [];

function serverEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...fc.env,
    CC_EXECUTOR_HOME: home,
    CC_EXECUTOR_KILL_GRACE_MS: "500",
    CC_EXECUTOR_CLAUDE_MAX_ATTEMPTS: "2",
    CC_EXECUTOR_CLAUDE_RETRY_DELAY_MS: "0",
    LOG_LEVEL: "info",
    NO_COLOR: "1",
    ...extra,
  };
}

async function connect(extra: Record<string, string> = {}, cwd = project): Promise<Connected> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, "mcp"], env: serverEnv(extra), cwd, stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: "cc-executor-test", version: "1.0.0" });
  const errors: Error[] = [];
  client.onerror = (err) => errors.push(err);
  await client.connect(transport);
  const pid = transport.pid!;
  serverPids.push(pid);
  return { client, transport, pid, stderr: () => stderr, errors };
}

function alive(pid: number): boolean {
  return processTable().some((p) => p.pid === pid && p.state !== "Z" && p.state !== "X");
}

async function call(name: string, args: Record<string, unknown>, onprogress?: (p: Progress) => void, signal?: AbortSignal, on: Connected = mcp): Promise<CallToolResult> {
  return (await on.client.callTool({ name, arguments: args }, undefined, { onprogress, signal, timeout: 60_000 })) as CallToolResult;
}

function writeHooks(dir: string, hooks: Record<string, unknown>): void {
  mkdirSync(join(dir, ".cc-executor"), { recursive: true });
  writeFileSync(join(dir, ".cc-executor", "hooks.json"), JSON.stringify({ hooks }));
}

function text(r: CallToolResult): string {
  const first = r.content[0];
  return first && first.type === "text" ? first.text : "";
}

/** The structured result, after checking that the text content carries the same JSON. */
function structured(r: CallToolResult): Record<string, any> {
  expect(r.structuredContent).toBeDefined();
  expect(JSON.parse(text(r))).toEqual(r.structuredContent);
  return r.structuredContent as Record<string, any>;
}

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  root = mkdtempSync(join(tmpdir(), "cce-mcp-"));
  project = join(root, "project");
  home = join(root, "home");
  mkdirSync(project, { recursive: true });
  fc = fakeClaude("success");
  mcp = await connect();
});

afterAll(async () => {
  await mcp?.client.close();
  // Nothing may outlive the servers: not the servers, not a claude (fake-claude) they started.
  for (const pid of serverPids) await waitUntil(() => !alive(pid), 10_000, `MCP server ${pid} to exit`);
  for (const c of fc?.calls() ?? []) expect(liveGroupMembers(c.pid)).toEqual([]);
  rmSync(root, { recursive: true, force: true });
});

describe("cc-executor mcp: tools", () => {
  it("lists the four tools with their input schemas", async () => {
    const { tools } = await mcp.client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["cc_execute", "execute_command", "history", "run_task_list"]);
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(byName.cc_execute!.inputSchema.required).toEqual(["prompt"]);
    expect(Object.keys(byName.cc_execute!.inputSchema.properties ?? {}).sort()).toEqual(["cwd", "json", "max_cost", "max_tokens", "model", "prompt", "resume_session", "timeout", "tools"]);
    expect(byName.execute_command!.inputSchema.required).toEqual(["command"]);
    expect(Object.keys(byName.run_task_list!.inputSchema.properties ?? {})).toEqual(expect.arrayContaining(["file", "tasks", "text", "format", "cwd", "concurrency", "resume_run_id", "isolation", "max_cost", "max_tokens", "resume_sessions"]));
    expect(Object.keys(byName.history!.inputSchema.properties ?? {})).toEqual(expect.arrayContaining(["limit", "status"]));
    expect(byName.history!.annotations?.readOnlyHint).toBe(true);
  });

  it("cc_execute runs one claude task: the `claude --json` result object, with progress", async () => {
    const before = fc.calls().length;
    const progress: Progress[] = [];
    const r = await call("cc_execute", { prompt: "Write the greeting", tools: ["Read", "Write"], model: "haiku" }, (p) => progress.push(p));
    expect(r.isError).toBe(false);
    const res = structured(r);
    expect(res).toMatchObject({ success: true, uuid_verified: true, attempts: 1, result: "Completed: Write the greeting", model: "claude-3-5-haiku-20241022" });
    expect(res.transcript_path).toContain(join(home, "runs"));
    expect(existsSync(res.result_path)).toBe(true);
    const calls = fc.calls().slice(before);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.cwd).toBe(project);
    expect(calls[0]!.argv).toEqual(expect.arrayContaining(["--allowedTools", "Read,Write", "--model", "haiku"]));
    // A tick per turn / tool use, strictly increasing.
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.some((p) => /Bash/.test(p.message ?? ""))).toBe(true);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.progress).toBeGreaterThan(progress[i - 1]!.progress);
  });

  it("cc_execute in JSON mode returns the parsed answer", async () => {
    const r = await call("cc_execute", { prompt: "[fake:json] Make output.txt", json: true });
    expect(r.isError).toBe(false);
    expect(structured(r)).toMatchObject({ success: true, files_created: ["output.txt"], summary: expect.stringContaining("Make output.txt") });
  });

  it("cc_execute failure: success false, the error type, isError", async () => {
    const r = await call("cc_execute", { prompt: "[fake:crash] Do the thing" });
    expect(r.isError).toBe(true);
    expect(structured(r)).toMatchObject({ success: false, error_type: "crash", attempts: 2 });
    const auth = await call("cc_execute", { prompt: "[fake:auth] Do the thing" });
    expect(auth.isError).toBe(true);
    expect(structured(auth)).toMatchObject({ success: false, error_type: "auth", attempts: 1 });
  });

  it("run_task_list inline: strict order, summary JSON, progress = tasks finished of total", async () => {
    const marker = join(project, "order.txt");
    const progress: Progress[] = [];
    const r = await call(
      "run_task_list",
      { tasks: [{ command: `echo FIRST-RESULT-7 | tee -a ${marker}` }, "Second task: use what the first one did", { title: "third", command: `echo three >> ${marker}` }] },
      (p) => progress.push(p),
    );
    expect(r.isError).toBe(false);
    const summary = structured(r);
    expect(summary).toMatchObject({ status: "completed", total: 3, completed: 3, failed: 0 });
    expect(summary.tasks.map((t: { status: string }) => t.status)).toEqual(["completed", "completed", "completed"]);
    expect(readFileSync(marker, "utf8")).toBe("FIRST-RESULT-7\nthree\n");
    expect(existsSync(summary.json_report_path)).toBe(true);
    // The claude task saw the first task's result.
    expect(fc.calls().at(-1)!.prompt).toContain("FIRST-RESULT-7");

    expect(progress.every((p) => p.total === 3)).toBe(true);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.progress).toBeGreaterThan(progress[i - 1]!.progress);
    expect(progress.map((p) => p.progress).filter(Number.isInteger)).toEqual([0, 1, 2, 3]);
    expect(progress.at(-1)!.progress).toBe(3);
  });

  it("run_task_list from a file (relative to cwd): a failing task stops the list, isError, progress reaches total", async () => {
    const dir = join(project, "lists");
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "plan.md"),
      `# Task List: MCP plan

### Task 1: Say hello
Write a greeting.

### Task 2: Fail
Method: direct

\`\`\`bash
echo broken >&2; exit 3
\`\`\`

### Task 3: Never runs
Method: direct

\`\`\`bash
touch never.txt
\`\`\`
`,
    );
    const progress: Progress[] = [];
    const r = await call("run_task_list", { file: "plan.md", cwd: dir }, (p) => progress.push(p));
    expect(r.isError).toBe(true);
    const summary = structured(r);
    expect(summary).toMatchObject({ name: "MCP plan", status: "failed", total: 3, completed: 1, failed: 1, skipped: 1, source: join(dir, "plan.md") });
    expect(summary.tasks[1]).toMatchObject({ status: "failed", exit_code: 3 });
    expect(summary.resume_command).toMatch(/^cc-executor tasks resume tl-/);
    expect(existsSync(join(dir, "never.txt"))).toBe(false);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p.total === 3)).toBe(true);
    expect(progress.at(-1)!.progress).toBe(3);
  });

  it("budgets: run_task_list stops as budget_exhausted and resume_run_id with a larger max_cost continues; cc_execute passes max_cost to claude", async () => {
    // fake-claude: $0.0123 a run
    const progress: Progress[] = [];
    const stopped = await call("run_task_list", { tasks: ["one", "two", "three"], max_cost: 0.02 }, (p) => progress.push(p));
    expect(stopped.isError).toBe(true);
    const first = structured(stopped);
    expect(first).toMatchObject({ status: "budget_exhausted", completed: 2, pending: 1, budget: { max_cost_usd: 0.02, spent_cost_usd: 0.0246, remaining_cost_usd: 0, exhausted: true } });
    expect(progress.some((p) => p.message === "budget: $0.0123 of $0.0200 spent, $0.0077 left · 4088 tokens")).toBe(true);
    const refused = await call("run_task_list", { resume_run_id: first.run_id });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/^Cannot resume: run tl-[\w-]+ has spent its budget \(\$0\.0246 of \$0\.02\)/);
    const resumedProgress: Progress[] = [];
    const resumed = structured(await call("run_task_list", { resume_run_id: first.run_id, max_cost: 0.05 }, (p) => resumedProgress.push(p)));
    expect(resumed).toMatchObject({ run_id: first.run_id, status: "completed", completed: 3, budget: { max_cost_usd: 0.05, spent_cost_usd: 0.0369 } });
    // A resumed run counts the tasks its earlier run finished: from 2 of 3 to 3 of 3.
    expect(resumedProgress.map((p) => p.progress).filter(Number.isInteger)).toEqual([2, 3]);
    expect(resumedProgress.every((p) => p.total === 3)).toBe(true);

    const one = structured(await call("cc_execute", { prompt: "[fake:over_budget] spend", max_cost: 0.01 }));
    expect(one).toMatchObject({ success: false, error_type: "budget_exceeded" });
    const argv = fc.calls().at(-1)!.argv;
    expect(argv[argv.indexOf("--max-budget-usd") + 1]).toBe("0.01");
  });

  it("run_task_list: an invalid list is an error result that says where", async () => {
    const r = await call("run_task_list", { tasks: [{ prompt: "fine" }, { prompt: "x", timeout: "soonish" }] });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/Invalid task list/);
    expect(text(r)).toMatch(/tasks\.1/);
    expect(text(r)).toMatch(/soonish/);
    const missing = await call("run_task_list", { file: "no-such-list.md" });
    expect(missing.isError).toBe(true);
    expect(text(missing)).toMatch(/no-such-list\.md: no such file/);
  });

  it("execute_command: exit code, status, output tails; exit 3 is an error", async () => {
    const ok = await call("execute_command", { command: "echo hello; echo note >&2" });
    expect(ok.isError).toBe(false);
    expect(structured(ok)).toMatchObject({ success: true, status: "completed", exit_code: 0, stdout: "hello\n", stderr: "note\n", cwd: project });

    const bad = await call("execute_command", { command: "echo partial; echo oops >&2; exit 3" });
    expect(bad.isError).toBe(true);
    const res = structured(bad);
    expect(res).toMatchObject({ success: false, status: "failed", exit_code: 3, stdout: "partial\n", stderr: "oops\n" });
    expect(typeof res.duration_ms).toBe("number");
  });

  it("execute_command: timeout kills the whole group and says so", async () => {
    const s = uniqueSleep();
    const r = await call("execute_command", { command: `sleep ${s} & sleep ${s}; echo never`, timeout: 1 });
    expect(r.isError).toBe(true);
    expect(structured(r)).toMatchObject({ success: false, status: "timeout", timeout_s: 1 });
    expect(liveSleeps(s)).toEqual([]);
  });

  it("execute_command keeps only the tail of a large output", async () => {
    const r = await call("execute_command", { command: "head -c 300000 /dev/zero | tr '\\0' 'x'; echo; echo THE-END" });
    const res = structured(r);
    expect(res.success).toBe(true);
    expect(res.truncated).toBe(true);
    expect(res.stdout_bytes).toBe(300000 + 1 + 8);
    expect(res.stdout.length).toBeLessThanOrEqual(16 * 1024);
    expect(res.stdout).toMatch(/THE-END\n$/);
  });

  it("bad arguments: an error result naming the field", async () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ["execute_command", { command: 5 }, /command/],
      ["execute_command", { command: "true", timeout: "soon" }, /timeout/],
      ["cc_execute", {}, /prompt/],
      ["cc_execute", { prompt: "x", timeout_s: 60 }, /timeout_s/],
      ["run_task_list", {}, /exactly one of file, tasks, text or resume_run_id/],
      ["run_task_list", { tasks: ["a"], concurrency: 0 }, /concurrency/],
      ["run_task_list", { resume_run_id: "tl-20260101-000000-abcdef", cwd: "elsewhere" }, /a resumed run works in the directory it started in.* at cwd/],
      ["run_task_list", { file: "plan.md", name: "mine" }, /names an inline `tasks` list.* at name/],
      ["run_task_list", { tasks: ["a"], format: "yaml" }, /goes with `text` or `file`.* at format/],
      ["history", { limit: -1 }, /limit/],
      ["history", { status: "great" }, /status/],
      ["execute_command", { command: "true", cwd: join(project, "missing-dir") }, /cwd: not an existing directory/],
      ["cc_execute", { prompt: "x", cwd: "missing-dir" }, /cwd: not an existing directory/],
    ];
    for (const [tool, args, pattern] of cases) {
      const r = await call(tool, args);
      expect(r.isError, `${tool} ${JSON.stringify(args)}`).toBe(true);
      expect(text(r), `${tool} ${JSON.stringify(args)}`).toMatch(pattern);
    }
  });

  it("history returns what the store lists", async () => {
    const r = await call("history", { limit: 5 });
    expect(r.isError).toBe(false);
    const res = structured(r);
    expect(res.backend).toBe("sqlite");
    expect(Array.isArray(res.executions)).toBe(true);
    expect(res.count).toBe(res.executions.length);
    expect(res.executions.length).toBeLessThanOrEqual(5);
    expect(existsSync(join(home, "cc-executor.db"))).toBe(true);
  });

  it("the client saw no malformed message from the server (nothing but MCP on stdout)", async () => {
    expect(structured(await call("execute_command", { command: "echo on-stdout" })).stdout).toBe("on-stdout\n");
    expect(mcp.errors).toEqual([]);
  });
});

describe("cc-executor mcp: hooks, history and timeout estimates, as in the WebSocket server", () => {
  // The MCP server's working directory is the project: its .cc-executor/hooks.json applies.
  let dir: string;
  let hooked: Connected;
  const hcall = (name: string, args: Record<string, unknown>) => call(name, args, undefined, undefined, hooked);

  beforeAll(async () => {
    dir = join(root, "hooked-project");
    mkdirSync(dir, { recursive: true });
    writeHooks(dir, {
      "pre-execute": [
        { command: `grep -q 'rm -rf' && { echo '{"proceed": false, "message": "no rm -rf here"}'; } || true` },
        { command: `sh -c 'case "$CC_EXECUTOR_COMMAND" in "say old") echo "{\\"command\\": \\"echo new\\"}";; esac'` },
      ],
      "post-execute": { command: `cat > "${join(dir, "post-execute.json")}"` },
      "post-claude": { command: `test -f "${join(dir, "tests-pass")}" || { echo '{"proceed": false, "message": "the project tests fail"}'; }` },
      "pre-task-list": { module: "./guard.mjs" },
    });
    writeFileSync(join(dir, ".cc-executor", "guard.mjs"), `export default (ctx) => ctx.task_list.name === "forbidden" ? { proceed: false, message: "no forbidden lists" } : undefined;\n`);
    trustHooksFile(join(root, "hooked-home"), join(dir, ".cc-executor", "hooks.json")); // as `cc-executor hooks trust` does
    hooked = await connect({ CC_EXECUTOR_HOME: join(root, "hooked-home") }, dir);
  });
  afterAll(async () => {
    await hooked?.client.close();
  });

  it("pre-execute: a refusal is an error result with the hook's message; a rewrite runs the new command; post-execute sees the result", async () => {
    const refused = await hcall("execute_command", { command: "rm -rf /tmp/nothing-here" });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toBe("Command not allowed: no rm -rf here");

    const rewritten = await hcall("execute_command", { command: "say old", timeout: 10 });
    expect(rewritten.isError).toBe(false);
    expect(structured(rewritten)).toMatchObject({ success: true, stdout: "new\n", timeout_s: 10 });
    expect(structured(rewritten).timeout_estimate).toBeUndefined();

    const failed = await hcall("execute_command", { command: "exit 4" });
    expect(structured(failed)).toMatchObject({ success: false, status: "failed", exit_code: 4 });
    const seen = JSON.parse(readFileSync(join(dir, "post-execute.json"), "utf8"));
    expect(seen).toMatchObject({ event: "post-execute", command: "exit 4", cwd: dir, result: { status: "failed", exit_code: 4 } });
  });

  it("execute_command without a timeout gets an estimate from the history (the default until a class has 3 samples)", async () => {
    // One sample of cmd:echo so far: the rewritten "echo new" above.
    const r = structured(await hcall("execute_command", { command: "echo estimated" }));
    expect(r).toMatchObject({ success: true, timeout_s: 600, timeout_estimate: { timeout_s: 600, basis: "default", samples: 1, category: "cmd:echo" } });
  });

  it("post-claude: a hook answering proceed:false marks cc_execute failed (hook_rejected, isError); it passes once the tests pass", async () => {
    const rejected = await hcall("cc_execute", { prompt: "Fix the bug" });
    expect(rejected.isError).toBe(true);
    expect(structured(rejected)).toMatchObject({ success: false, error_type: "hook_rejected", message: expect.stringContaining("the project tests fail"), uuid_verified: true });
    // No timeout given: estimated (per-complexity default with no history).
    expect(structured(rejected).timeout_estimate).toMatchObject({ basis: "default", samples: 0, category: expect.stringMatching(/^claude:/) });
    writeFileSync(join(dir, "tests-pass"), "");
    const passed = await hcall("cc_execute", { prompt: "Fix the bug", timeout: 60 });
    expect(passed.isError).toBe(false);
    expect(structured(passed)).toMatchObject({ success: true });
  });

  it("pre-task-list: a refusal is an error result; an allowed list runs with its tasks recorded", async () => {
    const refused = await hcall("run_task_list", { name: "forbidden", tasks: [{ command: "touch never-made" }] });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toBe("Task list not allowed: no forbidden lists");
    expect(existsSync(join(dir, "never-made"))).toBe(false);
    const ok = await hcall("run_task_list", { name: "allowed", tasks: [{ command: "echo listed" }] });
    expect(structured(ok)).toMatchObject({ status: "completed", completed: 1 });
  });

  it("history lists the calls made through this server, with their statuses", async () => {
    const res = structured(await hcall("history", { limit: 50 }));
    const rows = res.executions as Array<{ kind: string; label: string; status: string; exit_code?: number; error_type?: string; timeout_basis?: string; task_list_run_id?: string }>;
    // Newest first; the refused command never ran, so it is not there.
    expect(rows.map((r) => [r.kind, r.label, r.status])).toEqual([
      ["task", "echo listed", "completed"],
      ["claude", "Fix the bug", "completed"],
      ["claude", "Fix the bug", "failed"],
      ["command", "echo estimated", "completed"],
      ["command", "exit 4", "failed"],
      ["command", "echo new", "completed"],
    ]);
    expect(rows[2]).toMatchObject({ error_type: "hook_rejected", timeout_basis: "default" });
    expect(rows[4]).toMatchObject({ exit_code: 4, timeout_basis: "default" });
    expect(rows[5]).toMatchObject({ exit_code: 0, timeout_basis: "explicit" });
    expect(rows[0]!.task_list_run_id).toMatch(/^tl-/);
    const failedOnly = structured(await hcall("history", { status: "failed" }));
    expect(failedOnly.executions.map((r: { label: string }) => r.label)).toEqual(["Fix the bug", "exit 4"]);
  });

  it("an invalid hooks file: the server starts, says so on stderr, and tool calls answer with the error until it is fixed", async () => {
    const bad = join(root, "bad-hooks-project");
    mkdirSync(join(bad, ".cc-executor"), { recursive: true });
    const file = join(bad, ".cc-executor", "hooks.json");
    writeFileSync(file, `{"hooks": {"pre-exec": []}}`);
    trustHooksFile(join(root, "bad-hooks-home"), file); // trusted, then found invalid when loaded
    const other = await connect({ CC_EXECUTOR_HOME: join(root, "bad-hooks-home") }, bad);
    try {
      const r = await call("execute_command", { command: "touch should-not-exist" }, undefined, undefined, other);
      expect(r.isError).toBe(true);
      expect(text(r)).toMatch(/^Invalid hooks file, so nothing runs until it is fixed/);
      expect(text(r)).toContain(file);
      expect(text(r)).toMatch(/pre-exec/);
      expect(existsSync(join(bad, "should-not-exist"))).toBe(false);
      for (const [tool, args] of [["cc_execute", { prompt: "hi" }], ["run_task_list", { tasks: ["hi"] }]] as const) {
        const refused = await call(tool, args, undefined, undefined, other);
        expect(refused.isError, tool).toBe(true);
        expect(text(refused), tool).toMatch(/Invalid hooks file/);
      }
      // history only reads: it still answers
      expect((await call("history", {}, undefined, undefined, other)).isError).toBe(false);
      expect(other.stderr()).toMatch(/invalid hooks file/);
      writeHooks(bad, {});
      trustHooksFile(join(root, "bad-hooks-home"), file);
      const fixed = await call("execute_command", { command: "echo fixed" }, undefined, undefined, other);
      expect(structured(fixed)).toMatchObject({ success: true, stdout: "fixed\n" });
    } finally {
      await other.client.close();
    }
  });
});

describe("cc-executor mcp: an answer never overtakes its progress notifications", () => {
  it("a pre-claude refusal after a failing hook: the warning's notification arrives before the error result", async () => {
    const h = join(root, "refusing-home");
    const dir = join(root, "refusing-project");
    mkdirSync(h, { recursive: true });
    mkdirSync(dir, { recursive: true });
    // The user's own hooks file: the first hook fails (a warning, sent as progress), the second refuses.
    writeFileSync(join(h, "hooks.json"), JSON.stringify({ hooks: { "pre-claude": [{ command: "echo broken >&2; exit 1" }, { command: `echo '{"proceed": false, "message": "not today"}'` }] } }));
    const other = await connect({ CC_EXECUTOR_HOME: h }, dir);
    try {
      // An SDK client handles a notification a microtask after a response read with it: a
      // notification left behind its answer finds its token gone ("unknown token").
      for (let i = 0; i < 5; i++) {
        const progress: Progress[] = [];
        const r = await call("cc_execute", { prompt: `hi ${i}` }, (p) => progress.push(p), undefined, other);
        expect(text(r)).toBe("Task not allowed: not today");
        expect(progress.map((p) => p.message)).toEqual([expect.stringMatching(/^⚠ pre-claude hook .*broken/)]);
      }
      expect(other.errors).toEqual([]);
    } finally {
      await other.client.close();
    }
  });
});

describe("cc-executor mcp: process slots", () => {
  it("CC_EXECUTOR_MAX_PROCESSES counts each running task of a list: 2 of a 3-task parallel group run at once; a command is refused meanwhile", async () => {
    const other = await connect({ CC_EXECUTOR_MAX_PROCESSES: "2" });
    try {
      const s = uniqueSleep(2);
      let most = 0;
      const sampler = setInterval(() => (most = Math.max(most, liveSleeps(s).length)), 10);
      const tasks = ["a", "b", "c"].map((id) => ({ id, command: `sleep ${s}`, parallel_group: "fan" }));
      const list = call("run_task_list", { tasks, concurrency: 3 }, undefined, undefined, other);
      await waitUntil(() => liveSleeps(s).length === 2, 10_000, "two tasks running");
      const refused = await call("execute_command", { command: "echo hi" }, undefined, undefined, other);
      expect(refused.isError).toBe(true);
      expect(text(refused)).toMatch(/too many processes running \(2; CC_EXECUTOR_MAX_PROCESSES=2\)/);
      const summary = structured(await list);
      clearInterval(sampler);
      expect(summary).toMatchObject({ status: "completed", completed: 3 });
      expect(most).toBe(2);
    } finally {
      await other.client.close();
    }
  }, 60_000);
});

describe("cc-executor mcp: cancellation and shutdown leave no process behind", () => {
  it("canceling a cc_execute call kills claude", async () => {
    const before = fc.calls().length;
    const abort = new AbortController();
    const pending = call("cc_execute", { prompt: "[fake:hang] Wait forever" }, undefined, abort.signal);
    await waitUntil(() => fc.calls().length > before, 10_000, "fake-claude to start");
    const pid = fc.calls().at(-1)!.pid;
    expect(alive(pid)).toBe(true);
    abort.abort("test cancels");
    await expect(pending).rejects.toThrow();
    await waitUntil(() => liveGroupMembers(pid).length === 0, 10_000, "claude's group to be killed");
  });

  it("canceling execute_command and run_task_list calls kills their groups", async () => {
    const s = uniqueSleep();
    const abort = new AbortController();
    const pending = call("execute_command", { command: `sleep ${s} & sleep ${s}` }, undefined, abort.signal);
    await waitUntil(() => liveSleeps(s).length === 2, 10_000, "command running");
    abort.abort();
    await expect(pending).rejects.toThrow();
    await waitUntil(() => liveSleeps(s).length === 0, 10_000, "command's group to be killed");

    const s2 = uniqueSleep();
    const abort2 = new AbortController();
    const list = call("run_task_list", { tasks: [{ command: `sleep ${s2}` }, { command: "echo after" }] }, undefined, abort2.signal);
    await waitUntil(() => liveSleeps(s2).length === 1, 10_000, "task running");
    abort2.abort();
    await expect(list).rejects.toThrow();
    await waitUntil(() => liveSleeps(s2).length === 0, 10_000, "task's group to be killed");
    // The server is still usable afterwards.
    expect(structured(await call("execute_command", { command: "echo still-here" })).stdout).toBe("still-here\n");
  });

  it("closing the connection mid-task shuts the server down and kills its work", async () => {
    const other = await connect();
    const s = uniqueSleep();
    const before = fc.calls().length;
    const cmd = other.client.callTool({ name: "execute_command", arguments: { command: `sleep ${s}` } }).catch((e: Error) => e);
    const task = other.client.callTool({ name: "cc_execute", arguments: { prompt: "[fake:hang] forever" } }).catch((e: Error) => e);
    await waitUntil(() => liveSleeps(s).length === 1 && fc.calls().length > before, 10_000, "work running");
    const claudePid = fc.calls().at(-1)!.pid;
    await other.client.close(); // ends the server's stdin
    // Either the call failed with the connection, or its canceled result still made it out.
    for (const outcome of [await cmd, await task]) {
      if (outcome instanceof Error) continue;
      const r = outcome as CallToolResult;
      expect(r.isError).toBe(true);
      expect(r.structuredContent).toMatchObject(r.structuredContent?.error_type ? { error_type: "canceled" } : { status: "canceled" });
    }
    await waitUntil(() => !alive(other.pid), 10_000, "MCP server to exit");
    expect(liveSleeps(s)).toEqual([]);
    expect(liveGroupMembers(claudePid)).toEqual([]);
    expect(other.stderr()).toMatch(/input ended; shutting down/);
  });

  it("SIGTERM to the server kills its work too, and the client still connected gets the canceled result", async () => {
    const other = await connect();
    const s = uniqueSleep();
    const cmd = other.client.callTool({ name: "execute_command", arguments: { command: `sleep ${s}` } }).catch((e: Error) => e);
    await waitUntil(() => liveSleeps(s).length === 1, 10_000, "command running");
    process.kill(other.pid, "SIGTERM");
    await waitUntil(() => !alive(other.pid), 10_000, "MCP server to exit");
    expect(liveSleeps(s)).toEqual([]);
    expect(await cmd).toMatchObject({ isError: true, structuredContent: { status: "canceled", success: false } });
    await other.client.close();
  });
});

describe("cc-executor mcp: stdout carries only MCP messages", () => {
  it("every stdout line is a JSON-RPC message, even when commands and claude print", async () => {
    const child = spawn(process.execPath, [CLI, "mcp"], { cwd: project, env: { ...process.env, ...serverEnv() }, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    const send = (msg: object) => child.stdin.write(`${JSON.stringify(msg)}\n`);
    const responses = () => stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as { id?: number });
    send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } });
    await waitUntil(() => responses().some((m) => m.id === 1), 10_000, "initialize answer");
    send({ jsonrpc: "2.0", method: "notifications/initialized" });
    send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "execute_command", arguments: { command: "echo PRINTED-BY-COMMAND; echo ERR >&2" }, _meta: { progressToken: "p2" } } });
    send({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "cc_execute", arguments: { prompt: "[fake:noise] print noise" }, _meta: { progressToken: "p3" } } });
    await waitUntil(() => [2, 3].every((id) => responses().some((m) => m.id === id)), 20_000, "tool answers");
    child.stdin.end();
    expect(await exited).toBe(0);

    const lines = stdout.split("\n").filter(Boolean);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ jsonrpc: "2.0" });
    expect(lines.some((l) => l.includes('"notifications/progress"'))).toBe(true);
    // The command's output arrives inside the result, never as a line of its own.
    expect(lines.some((l) => l.startsWith("PRINTED"))).toBe(false);
    expect(stdout).toContain("PRINTED-BY-COMMAND");
    expect(stderr).toMatch(/server ready on stdio/);
  });
});
