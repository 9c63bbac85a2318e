import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode } from "../../src/cli/exit-codes.js";
import { finished, runCli, spawnCli } from "../helpers/cli.js";
import { FAKE_CLAUDE } from "../helpers/fake-claude.js";
import { waitUntil } from "../helpers/procs.js";

let home: string;
let dir: string;
let env: NodeJS.ProcessEnv;
const freePort = () => String(20000 + Math.floor(Math.random() * 20000));

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "cce-exit-"));
  dir = mkdtempSync(join(tmpdir(), "cce-exit-work-"));
  // A port nobody listens on: work runs in-process unless --no-local.
  env = { CC_EXECUTOR_HOME: home, CC_EXECUTOR_PORT: freePort(), CLAUDE_BIN: FAKE_CLAUDE, FAKE_CLAUDE_SCENARIO: "success", FAKE_CLAUDE_STATE_DIR: join(dir, "fc") };
  writeFileSync(join(dir, "ok.yaml"), "name: ok\ntasks:\n  - command: echo fine\n");
  writeFileSync(join(dir, "fails.yaml"), "name: fails\ntasks:\n  - command: exit 4\n  - command: echo never\n");
  writeFileSync(join(dir, "invalid.yaml"), "name: invalid\ntasks: 7\n");
  writeFileSync(join(dir, "limit.yaml"), "name: limit\ntasks:\n  - prompt: hit the limit [fake:usage_limit]\n");
  writeFileSync(join(dir, "claude.yaml"), "name: claude\ntasks:\n  - prompt: say hi\n");
  writeFileSync(join(dir, "slow.yaml"), "name: slow\ntasks:\n  - command: sleep 30\n");
  mkdirSync(join(dir, "badhooks-home"), { recursive: true });
  writeFileSync(join(dir, "badhooks-home", "hooks.json"), "{not json");
});
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

type Case = { name: string; args: string[]; code: number; env?: NodeJS.ProcessEnv; cwd?: string; stderr?: RegExp };

/** Runs cases a few at a time (each is a cold CLI start) and checks every exit code. */
async function check(cases: Case[]): Promise<void> {
  for (let i = 0; i < cases.length; i += 6) {
    const batch = cases.slice(i, i + 6);
    const runs = await Promise.all(batch.map((c) => runCli(c.args, { env: { ...env, ...c.env }, cwd: c.cwd ?? dir, timeoutMs: 90_000 })));
    runs.forEach((r, j) => {
      const c = batch[j]!;
      expect({ case: c.name, code: r.code }, r.stderr).toEqual({ case: c.name, code: c.code });
      if (c.stderr) expect(r.stderr, c.name).toMatch(c.stderr);
      expect(r.stderr, c.name).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // never a stack trace
    });
  }
}

describe("exit codes: one table, every command (docs/cli.md, README)", () => {
  it("run: its command's code, 128+N for a signal, 124 timeout, 2 usage, 3 unreachable", async () => {
    await check([
      { name: "run passes 7 through", args: ["run", "exit 7"], code: 7 },
      { name: "run killed by SIGKILL", args: ["run", "kill -9 $$"], code: 137 },
      { name: "run timeout", args: ["run", "--timeout", "1", "sleep 20"], code: ExitCode.timeout },
      { name: "run bad flag value", args: ["run", "--timeout", "soon", "true"], code: ExitCode.usage },
      { name: "run --no-local, no server", args: ["run", "--no-local", "true"], code: ExitCode.unreachable, stderr: /cannot connect .*cc-executor server start/ },
      { name: "run --url, no server", args: ["run", "--url", `ws://127.0.0.1:${freePort()}/ws/mcp`, "true"], code: ExitCode.unreachable },
    ]);
  }, 240_000);

  it("claude: 0, 1, 75, 124, 127, 3", async () => {
    await check([
      { name: "claude success", args: ["claude", "-q", "hi"], code: ExitCode.ok },
      { name: "claude uuid missing", args: ["claude", "-q", "--max-attempts", "1", "hi [fake:missing_uuid_always]"], code: ExitCode.failure },
      { name: "claude usage limit", args: ["claude", "-q", "hi [fake:usage_limit]"], code: ExitCode.tryLater },
      { name: "claude timeout", args: ["claude", "-q", "--timeout", "1", "--max-attempts", "1", "hi [fake:hang]"], code: ExitCode.timeout },
      { name: "claude not found", args: ["claude", "-q", "hi"], env: { CLAUDE_BIN: "/nonexistent/claude" }, code: ExitCode.claudeNotFound },
      { name: "claude --no-local", args: ["claude", "--no-local", "hi"], code: ExitCode.unreachable },
    ]);
  }, 240_000);

  it("tasks: 0, 1, 2 (invalid list, bad or unknown run id), 3, 75, 127", async () => {
    await check([
      { name: "tasks run ok", args: ["tasks", "run", "-q", "ok.yaml"], code: ExitCode.ok },
      { name: "tasks run failing task", args: ["tasks", "run", "-q", "fails.yaml"], code: ExitCode.failure },
      { name: "tasks run invalid list", args: ["tasks", "run", "invalid.yaml"], code: ExitCode.usage, stderr: /invalid\.yaml/ },
      { name: "tasks run usage limit", args: ["tasks", "run", "-q", "limit.yaml"], code: ExitCode.tryLater },
      { name: "tasks run claude missing", args: ["tasks", "run", "-q", "claude.yaml"], env: { CLAUDE_BIN: "/nonexistent/claude" }, code: ExitCode.claudeNotFound },
      { name: "tasks run --no-local", args: ["tasks", "run", "--no-local", "ok.yaml"], code: ExitCode.unreachable },
      { name: "tasks show malformed id", args: ["tasks", "show", "bogus"], code: ExitCode.usage, stderr: /"bogus" is not a task-list run id/ },
      { name: "tasks resume malformed id", args: ["tasks", "resume", "bogus"], code: ExitCode.usage, stderr: /^(?![\s\S]*resume_run_id)[\s\S]*"bogus" is not a task-list run id/ },
      { name: "tasks show unknown run", args: ["tasks", "show", "tl-20200101-000000-abcdef"], code: ExitCode.usage, stderr: /no task-list run/ },
      { name: "tasks resume unknown run", args: ["tasks", "resume", "tl-20200101-000000-abcdef"], code: ExitCode.usage, stderr: /no task-list run/ },
      { name: "tasks validate invalid", args: ["tasks", "validate", "invalid.yaml"], code: ExitCode.usage },
      { name: "tasks list", args: ["tasks", "list"], code: ExitCode.ok },
    ]);
  }, 300_000);

  it("the other commands: history, logs, hooks, server, worker, queue, doctor, test, init", async () => {
    writeFileSync(join(dir, ".mcp.json"), "{broken");
    await check([
      { name: "history show unknown", args: ["history", "show", "zzzzzzzz"], code: ExitCode.usage },
      { name: "history clear bad age", args: ["history", "clear", "--before", "soon"], code: ExitCode.usage },
      { name: "logs unknown", args: ["logs", "zzzzzzzz"], code: ExitCode.usage },
      { name: "hooks list invalid file", args: ["hooks", "list"], env: { CC_EXECUTOR_HOME: join(dir, "badhooks-home") }, code: ExitCode.usage, stderr: /not valid JSON/ },
      { name: "server status, none running", args: ["server", "status"], code: ExitCode.unreachable },
      { name: "server stop, none running", args: ["server", "stop"], code: ExitCode.unreachable },
      { name: "worker without REDIS_URL", args: ["worker"], code: ExitCode.usage, stderr: /REDIS_URL/ },
      { name: "queue status, Redis down", args: ["queue", "status"], env: { REDIS_URL: "redis://127.0.0.1:1" }, code: ExitCode.unreachable },
      { name: "doctor with a failing check", args: ["doctor"], env: { REDIS_URL: "redis://127.0.0.1:1" }, code: ExitCode.failure },
      { name: "test assess unknown suite", args: ["test", "assess", "nosuch"], code: ExitCode.usage },
      { name: "init --mcp --write over a broken .mcp.json", args: ["init", "--mcp", "--write"], code: ExitCode.usage },
      { name: "unknown command", args: ["nosuch"], code: ExitCode.usage },
    ]);
  }, 300_000);

  it("a bad setting is the same clear exit-2 error for every command, from the environment or .env", async () => {
    const commands = [["run", "true"], ["claude", "hi"], ["tasks", "run", "ok.yaml"], ["tasks", "list"], ["history", "list"], ["logs", "abcd"], ["doctor"], ["server", "status"], ["hooks", "list"], ["test", "stress"]];
    await check(commands.map((args) => ({ name: `${args.join(" ")} with CC_EXECUTOR_PORT=abc`, args, env: { CC_EXECUTOR_PORT: "abc" }, code: ExitCode.usage, stderr: /invalid configuration: CC_EXECUTOR_PORT="abc": expected a whole number from 0 to 65535/ })));
    const withDotenv = join(dir, "dotenv");
    mkdirSync(withDotenv, { recursive: true });
    writeFileSync(join(withDotenv, ".env"), "CC_EXECUTOR_PORT=abc\n");
    const { CC_EXECUTOR_PORT: _unset, ...noPort } = env;
    const r = await runCli(["run", "true"], { env: { ...noPort, CC_EXECUTOR_PORT: "" }, cwd: withDotenv });
    expect(r.code).toBe(ExitCode.usage);
    expect(r.stderr).toMatch(/CC_EXECUTOR_PORT="abc"/);
  }, 240_000);

  it("130: Ctrl-C during tasks run stops the task and exits 130", async () => {
    const child = spawnCli(["tasks", "run", "slow.yaml"], { env, cwd: dir });
    const done = finished(child, 60_000);
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    await waitUntil(() => err.includes("▶ [1/1]"), 30_000, "the task started");
    child.kill("SIGINT");
    expect((await done).code).toBe(ExitCode.interrupted);
  }, 60_000);

  it("README and docs/cli.md list every code of src/cli/exit-codes.ts", () => {
    const root = join(import.meta.dirname, "..", "..");
    for (const doc of ["README.md", "docs/cli.md"]) {
      const text = readFileSync(join(root, doc), "utf8");
      for (const code of Object.values(ExitCode)) expect(text, `${doc} lists ${code}`).toMatch(new RegExp(`^\\| ${code} \\|`, "m"));
      expect(text).toMatch(/^\| other \| `run`/m);
    }
  });
});
