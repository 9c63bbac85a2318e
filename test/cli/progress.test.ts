import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifyTask, openStore } from "../../src/store/index.js";
import { CLI, runCli } from "../helpers/cli.js";
import { FAKE_CLAUDE } from "../helpers/fake-claude.js";
import { requireTool } from "../helpers/tools.js";

/**
 * Live progress is drawn only on a terminal: these tests run the CLI in a real pseudo-terminal
 * with util-linux's `script`, and without one.
 */
let home: string;
let dir: string;
let env: NodeJS.ProcessEnv;
const SPINNER = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/;
const TASK = "sleep 2.5";
const PROMPT = "Summarise the notes [fake:slow]";

beforeAll(async () => {
  requireTool("script", "bsdutils (util-linux's script)");
  home = mkdtempSync(join(tmpdir(), "cce-progress-"));
  dir = mkdtempSync(join(tmpdir(), "cce-progress-work-"));
  env = { ...process.env, NO_COLOR: "1", CC_EXECUTOR_HOME: home, CC_EXECUTOR_PORT: String(20000 + Math.floor(Math.random() * 20000)), CLAUDE_BIN: FAKE_CLAUDE, FAKE_CLAUDE_DELAY_MS: "400" };
  // History: tasks like these took 4 s (commands) and 7 s (claude) before.
  const store = await openStore({ home });
  const now = Date.now();
  for (let i = 0; i < 5; i++) {
    for (const [text, kind, ms] of [[TASK, "command", 4000], [PROMPT, "claude", 7000]] as const) {
      const id = `${kind}-${i}`;
      await store.recordExecutionStart({ id, kind, label: text, digest: "d", category: classifyTask(text, kind), started_at: now - 60_000 - i * 10_000 });
      await store.recordExecutionEnd(id, { status: "completed", duration_ms: ms, ended_at: now - 50_000 - i * 10_000 });
    }
  }
  await store.close();
  writeFileSync(join(dir, "list.yaml"), `name: progress\ntasks:\n  - title: first\n    command: ${TASK}\n    timeout: 60\n  - title: second\n    command: ${TASK}\n    timeout: 60\n`);
});
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a shell command line inside a pseudo-terminal; returns what the terminal showed. */
function inTerminal(commandLine: string): Promise<{ code: number | null; screen: string }> {
  const child = spawn("script", ["-qfec", commandLine, "/dev/null"], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  let screen = "";
  child.stdout.on("data", (d: Buffer) => (screen += d.toString()));
  child.stderr.on("data", (d: Buffer) => (screen += d.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, screen })));
}

const cli = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)}`;

describe("live progress on a terminal", () => {
  it("tasks run: the running task's line ticks with its elapsed time against history, and what is left of the list", async () => {
    const { code, screen } = await inTerminal(`${cli} tasks run list.yaml`);
    expect(code, screen).toBe(0);
    expect(screen).toMatch(SPINNER);
    expect(screen).toContain("\r"); // redrawn in place
    // e.g. "⠹ task 1/2 · first · 1.0s of ~4.0s · list ~7.0s left"
    expect(screen).toMatch(/task 1\/2 · first · \d+(\.\d)?s of ~4\.0s · list ~\d+(\.\d)?s left/);
    expect(screen).toMatch(/task 2\/2 · second · \d+(\.\d)?s of ~4\.0s · list ~\d+(\.\d)?s left/);
    expect(screen).toMatch(/✓ \[2\/2\] second/);
    expect(screen).toMatch(/progress: completed · 2\/2 completed/);
  }, 90_000);

  it("claude: elapsed time against the typical duration of such tasks", async () => {
    const { code, screen } = await inTerminal(`${cli} claude ${JSON.stringify(PROMPT)}`);
    expect(code, screen).toBe(0);
    expect(screen).toMatch(new RegExp(`${SPINNER.source} claude · \\d+(\\.\\d)?s of ~7\\.0s`));
  }, 90_000);

  it("nothing of it with --quiet, or when stdout is not a terminal", async () => {
    const quiet = await inTerminal(`${cli} tasks run --quiet list.yaml`);
    expect(quiet.code).toBe(0);
    expect(quiet.screen).not.toMatch(SPINNER);
    expect(quiet.screen).not.toMatch(/of ~/);
    const piped = await inTerminal(`${cli} tasks run list.yaml | cat`);
    expect(piped.code).toBe(0);
    expect(piped.screen).not.toMatch(SPINNER);
    expect(piped.screen).toMatch(/✓ \[2\/2\] second/); // the plain progress lines stay
    expect(piped.screen).not.toContain("\r\u001b[K");
  }, 120_000);

  it("no terminal at all: plain lines only", async () => {
    const r = await runCli(["tasks", "run", "list.yaml"], { env, cwd: dir, timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(SPINNER);
    expect(r.stderr).not.toContain("\r");
    expect(r.stderr).toMatch(/▶ \[1\/2\] first/);
  }, 60_000);
});

describe("tasks show and the summary", () => {
  it("give per-task duration, tokens, cost and the error of a failed task; --report F names F", async () => {
    writeFileSync(join(dir, "mixed.yaml"), "name: mixed\ntasks:\n  - title: ask\n    prompt: say hi\n  - title: breaks\n    command: echo nope; exit 4\n");
    const report = join(dir, "my-report.md");
    const run = await runCli(["tasks", "run", "mixed.yaml", "--report", report, "--json"], { env: { ...env, FAKE_CLAUDE_DELAY_MS: "0" }, cwd: dir, timeoutMs: 60_000 });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`report: ${report}`);
    const runId = JSON.parse(run.stdout).run_id as string;
    const show = await runCli(["tasks", "show", runId], { env, cwd: dir });
    expect(show.stdout).toMatch(/#\s+status\s+duration\s+tokens in\/out\s+cost\s+title/);
    expect(show.stdout).toMatch(/1\. completed\s+\d+(\.\d)?m?s\s+1500\/420\s+\$0\.0123\s+ask/);
    expect(show.stdout).toMatch(/2\. failed\s+\d+(\.\d)?m?s\s+-\s+-\s+breaks\n\s+✗ nonzero_exit: exit code 4/);
  }, 60_000);
});
