import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { FAKE_CLAUDE } from "../helpers/fake-claude.js";

let home: string;
let dir: string;
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "cce-quiet-"));
  dir = mkdtempSync(join(tmpdir(), "cce-quiet-work-"));
  // No server on this port: each command runs in-process, which it would otherwise say.
  env = { CC_EXECUTOR_HOME: home, CC_EXECUTOR_PORT: String(20000 + Math.floor(Math.random() * 20000)), CLAUDE_BIN: FAKE_CLAUDE, FAKE_CLAUDE_SCENARIO: "success" };
  writeFileSync(join(dir, "list.yaml"), "name: quiet\ntasks:\n  - command: echo one\n  - prompt: say two\n");
});
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

describe("--quiet on every command that prints progress", () => {
  it("each of them has it", async () => {
    for (const path of [["run"], ["claude"], ["tasks", "run"], ["tasks", "resume"], ["wait"], ["logs"], ["test", "stress"], ["test", "assess"]]) {
      const help = await runCli([...path, "--help"], { env });
      expect([path.join(" "), help.stdout]).toEqual([path.join(" "), expect.stringMatching(/-q, --quiet/)]);
    }
  }, 120_000);

  // --quiet takes away progress and status lines, never a warning (e.g. the state directory's modes being fixed).
  const progressLines = (stderr: string) => stderr.split("\n").filter((l) => l !== "" && !/"level":(40|50|60)/.test(l) && !/^warning:/.test(l)).join("\n");

  it("with it, no progress on stderr on success; the data still comes on stdout", async () => {
    const run = await runCli(["run", "-q", "echo out"], { env });
    expect([run.code, run.stdout, progressLines(run.stderr)]).toEqual([0, "out\n", ""]);
    const claude = await runCli(["claude", "-q", "say hi"], { env });
    expect([claude.code, progressLines(claude.stderr)]).toEqual([0, ""]);
    expect(claude.stdout.length).toBeGreaterThan(0);
    const list = await runCli(["tasks", "run", "-q", "--json", "list.yaml"], { env, cwd: dir, timeoutMs: 60_000 });
    expect([list.code, progressLines(list.stderr)]).toEqual([0, ""]);
    const runId = JSON.parse(list.stdout).run_id as string;
    const logs = await runCli(["logs", "-q", runId], { env });
    expect([logs.code, progressLines(logs.stderr)]).toEqual([0, ""]);
    expect(logs.stdout).toMatch(/==> \[1\/2\]/);
    const stress = await runCli(["test", "stress", "-q", "--tasks", "2"], { env });
    expect([stress.code, progressLines(stress.stderr)]).toEqual([0, ""]);
    expect(stress.stdout).toMatch(/# cc-executor stress test: PASS/);
    // without it, the same commands say what they do
    const loud = await runCli(["run", "echo out"], { env });
    expect(loud.stderr).toMatch(/running in-process/);
  }, 120_000);
});

describe("a failed claude task's error", () => {
  it("is stated once on stderr, with the progress lines and without them", async () => {
    for (const args of [["claude", "hi"], ["claude", "-q", "hi"]]) {
      const run = await runCli(args, { env: { ...env, FAKE_CLAUDE_SCENARIO: "auth" }, cwd: dir });
      expect(run.code).toBe(1);
      expect([args.join(" "), run.stderr.match(/✗ auth: /g)?.length]).toEqual([args.join(" "), 1]);
    }
  }, 60_000);
});
