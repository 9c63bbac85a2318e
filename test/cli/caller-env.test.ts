import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { FAKE_CLAUDE } from "../helpers/fake-claude.js";
import { spawnServerProcess, type ServerProcess } from "../helpers/server-process.js";

const ROOT = join(import.meta.dirname, "..", "..");
let server: ServerProcess;
let strict: ServerProcess;
let dir: string;
let env: NodeJS.ProcessEnv;

// The servers run without CLAUDE_BIN and with a PATH that has no claude: what a request carries is all they get.
const serverEnv = { CLAUDE_BIN: "", PATH: "/usr/local/bin:/usr/bin:/bin", FAKE_CLAUDE_SCENARIO: "success" };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cce-caller-"));
  [server, strict] = await Promise.all([spawnServerProcess(serverEnv), spawnServerProcess({ ...serverEnv, CC_EXECUTOR_DENY: "fake-claude" })]);
  env = { CC_EXECUTOR_HOME: server.home, CC_EXECUTOR_PORT: String(server.port), CLAUDE_BIN: "" };
}, 90_000);
afterAll(async () => {
  await Promise.all([server?.stop(), strict?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

const calls = (file: string) => readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { argv: string[] });

describe("what a request carries from the caller (server running)", () => {
  it("the README's task-list example: CLAUDE_BIN from here (a relative path too) reaches the server's tasks", async () => {
    const record = join(dir, "readme.jsonl");
    const r = await runCli(["tasks", "run", "examples/basic/tasks.md", "-e", `FAKE_CLAUDE_RECORD=${record}`], { cwd: ROOT, env: { ...env, CLAUDE_BIN: relative(ROOT, FAKE_CLAUDE) }, timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/in-process/);
    expect(r.stderr).toMatch(/TODO API: completed · 3\/3 completed/);
    expect(calls(record)).toHaveLength(3);
    // Without it the server's own environment has no claude: the task says so (127), nothing is silently different.
    const without = await runCli(["tasks", "run", "-q", "examples/basic/tasks.md"], { cwd: ROOT, env, timeoutMs: 60_000 });
    expect(without.code).toBe(127);
  }, 120_000);

  it("--env and --pass-env reach the command; the rest of this environment does not", async () => {
    const r = await runCli(["run", "-e", "FOO=bar baz", "--pass-env", "MINE", 'echo "$FOO|$MINE|${NOT_PASSED:-unset}"'], { env: { ...env, MINE: "from-here", NOT_PASSED: "secret" } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("bar baz|from-here|unset\n");
  });

  it("a bad --env or an unset --pass-env is a usage error naming it (exit 2), before anything runs", async () => {
    const unset = await runCli(["run", "--pass-env", "SURELY_NOT_SET_X", "true"], { env });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/--pass-env SURELY_NOT_SET_X: SURELY_NOT_SET_X is not set in this environment/);
    const bad = await runCli(["claude", "-e", "no-equals-sign", "hi"], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--env "no-equals-sign": expected NAME=value/);
  });

  it("claude carries CLAUDE_BIN and CC_EXECUTOR_PERMISSION_MODE; settings the server keeps are named in a warning", async () => {
    const record = join(dir, "claude.jsonl");
    const r = await runCli(["claude", "-q", "-e", `FAKE_CLAUDE_RECORD=${record}`, "say hi"], { env: { ...env, CLAUDE_BIN: FAKE_CLAUDE, CC_EXECUTOR_PERMISSION_MODE: "plan", CC_EXECUTOR_COMMAND_TIMEOUT: "5" } });
    expect(r.code, r.stderr).toBe(0);
    const argv = calls(record)[0]!.argv;
    expect(argv[argv.indexOf("--permission-mode") + 1]).toBe("plan");
    expect(r.stderr).toMatch(/warning: the server at ws:\/\/127\.0\.0\.1:\d+\/ws\/mcp runs with its own settings, not these from here: CC_EXECUTOR_COMMAND_TIMEOUT=5 \(server: 600\)/);
    expect(r.stderr).not.toMatch(/PERMISSION_MODE=plan \(server/); // carried, so not in the warning
    // The same value as the server's: nothing to say.
    const same = await runCli(["run", "true"], { env: { ...env, CC_EXECUTOR_COMMAND_TIMEOUT: "600" } });
    expect(same.stderr).not.toMatch(/warning/);
  });

  it("with a command policy, the server refuses a CLAUDE_BIN the policy denies (-32001)", async () => {
    const r = await runCli(["claude", "-q", "say hi"], { env: { CC_EXECUTOR_HOME: strict.home, CC_EXECUTOR_PORT: String(strict.port), CLAUDE_BIN: FAKE_CLAUDE } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Command not allowed: CLAUDE_BIN=.*fake-claude.*deny pattern/);
  });
});

describe("doctor checks the server requests go to", () => {
  const check = (report: { checks: Array<{ name: string; status: string; detail: string }> }, name: string) => report.checks.find((c) => c.name === name);

  it("its claude (FAIL without one, ok with the CLAUDE_BIN requests carry), its state dir, its settings", async () => {
    const bare = JSON.parse((await runCli(["doctor", "--json"], { env: { ...env, STREAM_TIMEOUT: "600" } })).stdout);
    expect(check(bare, "server use")).toMatchObject({ status: "ok" });
    expect(check(bare, "server claude")).toMatchObject({ status: "fail", detail: expect.stringMatching(/the server finds no claude/) });
    expect(bare.ok).toBe(false);
    const carried = JSON.parse((await runCli(["doctor", "--json"], { env: { ...env, CLAUDE_BIN: FAKE_CLAUDE, CC_EXECUTOR_KILL_GRACE_MS: "10" } })).stdout);
    expect(check(carried, "server claude")).toMatchObject({ status: "ok", detail: expect.stringContaining(`carries CLAUDE_BIN=${FAKE_CLAUDE}`) });
    expect(check(carried, "server settings")).toMatchObject({ status: "warn", detail: expect.stringContaining("CC_EXECUTOR_KILL_GRACE_MS=10 (server: 3000)") });
    // Another state directory here (with the server's token, so that it can be used): logs and history here would not see its runs.
    const elsewhere = JSON.parse((await runCli(["doctor", "--json"], { env: { ...env, CC_EXECUTOR_HOME: join(dir, "other-home"), CC_EXECUTOR_TOKEN: server.token } })).stdout);
    expect(check(elsewhere, "server use")).toMatchObject({ status: "ok" });
    expect(check(elsewhere, "server home")).toMatchObject({ status: "warn", detail: expect.stringContaining(`the server keeps its runs and token in ${server.home}`) });
  }, 60_000);
});
