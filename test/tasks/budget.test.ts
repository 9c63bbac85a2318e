import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRunState, resumeTaskList, runTaskList, RunNotResumableError, type TaskListEvent, type TaskListOptions } from "../../src/tasks/index.js";
import { runCli } from "../helpers/cli.js";
import { FAKE_CLAUDE, fakeClaude } from "../helpers/fake-claude.js";

// fake-claude: every run costs $0.0123 and 4088 tokens (1500 in, 420 out, 2048 cache read, 120 cache write).
function setup(scenario = "success") {
  const fc = fakeClaude(scenario);
  const cwd = mkdtempSync(join(tmpdir(), "cce-budget-"));
  const events: TaskListEvent[] = [];
  const options: TaskListOptions = { home: fc.home, cwd, env: fc.env, local: { claude: { claudeBin: FAKE_CLAUDE, home: fc.home, retry: { maxAttempts: 1 } } }, onEvent: (e) => events.push(e) };
  return { fc, cwd, events, options };
}
const argOf = (argv: string[], flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);

describe("task-list budgets", () => {
  it("a list whose spending reaches its budget starts no new task, stops as budget_exhausted and says what was spent and what is left; a larger budget resumes it", async () => {
    const { fc, events, options } = setup();
    const summary = await runTaskList({ max_cost: 0.02, tasks: ["one", "two", "three"] }, options);
    expect(summary.status).toBe("budget_exhausted");
    expect(summary.tasks.map((t) => t.status)).toEqual(["completed", "completed", "pending"]); // not skipped: it runs on resume
    expect(summary.budget).toEqual({ max_cost_usd: 0.02, spent_cost_usd: 0.0246, remaining_cost_usd: 0, spent_tokens: 8176, exhausted: true });
    expect(summary.resume_command).toBe(`cc-executor tasks resume ${summary.run_id} --max-cost <more>`);
    // each task was given what was left of the budget
    expect(fc.calls().map((c) => argOf(c.argv, "--max-budget-usd"))).toEqual(["0.02", "0.0077"]);
    expect(events.filter((e) => e.type === "task.started").map((e) => (e as { budget?: unknown }).budget)).toEqual([{ max_cost_usd: 0.02 }, { max_cost_usd: 0.0077 }]);
    expect(events.filter((e) => e.type === "tasklist.budget").map((e) => (e as { budget: { spent_cost_usd: number } }).budget.spent_cost_usd)).toEqual([0.0123, 0.0246]);
    expect(events[0]).toMatchObject({ type: "tasklist.started", budget: { max_cost_usd: 0.02, spent_cost_usd: 0, remaining_cost_usd: 0.02 } });

    expect(() => resumeTaskList(summary.run_id, options)).toThrow(RunNotResumableError);
    expect(() => resumeTaskList(summary.run_id, options)).toThrow(/has spent its budget \(\$0\.0246 of \$0\.02\); resume it with a larger one/);
    const resumed = await resumeTaskList(summary.run_id, { ...options, budget: { maxCostUsd: 0.05 } }).finished;
    expect(resumed.status).toBe("completed");
    expect(resumed.budget).toMatchObject({ max_cost_usd: 0.05, spent_cost_usd: 0.0369, remaining_cost_usd: 0.0131 });
    expect(fc.calls()).toHaveLength(3); // only task 3 ran again
    expect(argOf(fc.calls()[2]!.argv, "--max-budget-usd")).toBe("0.0254");
  });

  it("a task the CLI stops at the list's budget is budget_exhausted (not a failure): the list stops, and resume continues that task's session", async () => {
    const { fc, options } = setup();
    const summary = await runTaskList({ max_cost: 0.02, on_failure: "continue", tasks: ["one", "[fake:over_budget] two", "three"] }, options);
    expect(summary.status).toBe("budget_exhausted");
    expect(summary.tasks[1]).toMatchObject({ status: "failed", error_type: "budget_exhausted" });
    expect((summary.tasks[1] as { message: string }).message).toMatch(/^the list's budget is spent \(\$0\.0246 of \$0\.0200 spent/);
    expect(summary.tasks[2]!.status).toBe("pending"); // "continue" does not apply to a budget stop
    const resumed = await resumeTaskList(summary.run_id, { ...options, budget: { maxCostUsd: 1 } }).finished;
    expect(resumed.status).toBe("completed");
    const second = fc.calls()[2]!;
    expect(argOf(second.argv, "--resume")).toBe(fc.calls()[1]!.session_id);
  });

  it("a task's own budget: its runs share it, and once it is spent the task fails under its failure policy", async () => {
    const { fc, events, options } = setup();
    const summary = await runTaskList({ tasks: [{ prompt: "[fake:missing_uuid_always] a", max_cost: 0.02, on_failure: "retry 3" }, "b"] }, options);
    expect(summary.status).toBe("failed"); // retries used up (the third run had no budget left): as "stop"
    expect(summary.tasks.map((t) => t.status)).toEqual(["failed", "skipped"]);
    expect(summary.tasks[0]).toMatchObject({ error_type: "uuid_verification_failed", attempts: 2 });
    expect((summary.tasks[0] as { message: string }).message).toMatch(/; not retried: the task's budget of \$0\.02 is spent \(\$0\.0246\)$/);
    expect(fc.calls()).toHaveLength(2);
    expect(fc.calls()[1]!.resumed).toBe(true); // the retry continued the first run's session
    expect(events.filter((e) => e.type === "task.failed").map((e) => (e as { will_retry: boolean }).will_retry)).toEqual([true, false]);
    expect(loadRunState(options.home!, summary.run_id).spent!.tasks["task-1"]).toEqual({ cost_usd: 0.0246, tokens: 8176 });
  });

  it("a token budget: a task given too few tokens is stopped mid-run and the list stops", async () => {
    const { options } = setup();
    options.env = { ...options.env, FAKE_CLAUDE_DELAY_MS: "30" }; // lines arrive one by one, as from the real CLI
    // fake-claude: 3 messages of 2183 tokens each (by the stream), 4088 by its result
    const summary = await runTaskList({ max_tokens: 7000, tasks: ["one", "two", "three"] }, options);
    expect(summary.status).toBe("budget_exhausted");
    expect(summary.tasks.map((t) => t.status)).toEqual(["completed", "failed", "pending"]);
    expect(summary.tasks[1]).toMatchObject({ error_type: "budget_exhausted" });
    expect((summary.tasks[1] as { message: string }).message).toMatch(/token budget ran out: \d+ tokens used of the 2912 left/);
    expect(summary.budget.spent_tokens).toBeGreaterThanOrEqual(7000);
  });

  it("CLI: --max-cost stops the run with exit 5 and the budget on stderr; resume without a larger budget is refused (2), with one it completes; tasks show has the budget", async () => {
    const fc = fakeClaude("success");
    const dir = mkdtempSync(join(tmpdir(), "cce-budget-cli-"));
    const plan = join(dir, "plan.yaml");
    writeFileSync(plan, "tasks:\n  - one\n  - two\n  - three\n");
    const env = { ...fc.env, CC_EXECUTOR_HOME: fc.home, CC_EXECUTOR_PORT: String(20000 + Math.floor(Math.random() * 30000)) };
    const run = await runCli(["tasks", "run", plan, "--max-cost", "0.02"], { env, cwd: dir, timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(5);
    expect(run.stderr).toContain("budget: $0.0000 of $0.0200 spent, $0.0200 left");
    expect(run.stderr).toContain("budget: $0.0246 of $0.0200 spent, $0.0000 left · 8176 tokens");
    expect(run.stderr).toMatch(/▶ \[2\/3\] two \(claude, timeout \d+s default, up to \$0\.0077\)/);
    expect(run.stderr).toMatch(/budget_exhausted · 2\/3 completed · 1 not run/);
    const runId = /tasks resume (tl-[\w-]+) --max-cost <more>/.exec(run.stderr)![1]!;
    const refused = await runCli(["tasks", "resume", runId], { env, cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("has spent its budget ($0.0246 of $0.02)");
    const show = await runCli(["tasks", "show", runId], { env });
    expect(show.stdout).toContain("budget: $0.0246 of $0.0200 spent, $0.0000 left · 8176 tokens — stopped by its budget");
    const resumed = await runCli(["tasks", "resume", runId, "--max-cost", "0.05", "--json"], { env, cwd: dir, timeoutMs: 60_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ status: "completed", budget: { max_cost_usd: 0.05, spent_cost_usd: 0.0369 } });
  });

  it("cc-executor claude --max-cost: passed on as --max-budget-usd; the CLI stopping there is exit 5 and error_type budget_exceeded", async () => {
    const fc = fakeClaude("over_budget");
    const env = { ...fc.env, CC_EXECUTOR_HOME: fc.home, CC_EXECUTOR_PORT: String(20000 + Math.floor(Math.random() * 30000)) };
    const r = await runCli(["claude", "--json", "--max-cost", "$0.01", "Spend a lot"], { env, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(5);
    expect(JSON.parse(r.stdout)).toMatchObject({ success: false, error_type: "budget_exceeded", cost_usd: 0.0123 });
    expect(argOf(fc.calls()[0]!.argv, "--max-budget-usd")).toBe("0.01");
    const bad = await runCli(["claude", "--max-cost", "lots", "x"], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected a positive amount of US dollars (e.g. 2.50), got "lots"');
  });
});
