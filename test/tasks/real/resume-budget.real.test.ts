/*
 * Task lists with the real claude CLI against the Messages API double: a timed-out task that
 * continues its session, a list stopped by its budget and resumed with a larger one, and a run
 * killed mid-task whose resume continues the task's session.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRunState, resumeTaskList, runTaskList, type TaskListEvent, type TaskListOptions } from "../../../src/tasks/index.js";
import { finished, runCli, spawnCli } from "../../helpers/cli.js";
import { userText, type ApiRequest } from "../../helpers/messages-api.js";
import { waitUntil } from "../../helpers/procs.js";
import { useMessagesApi, realClaudeEnv } from "../../helpers/real-claude.js";
import { scriptedWorker } from "../../helpers/scripted-worker.js";

describe("real claude CLI: task lists continue sessions and keep budgets", () => {
  const api = useMessagesApi(scriptedWorker());

  function setup() {
    const { env, bin, home } = realClaudeEnv(api, { maxRetries: 0 });
    const cwd = mkdtempSync(join(tmpdir(), "cce-real-list-"));
    const ccHome = join(home, ".cce");
    const events: TaskListEvent[] = [];
    const options: TaskListOptions = { home: ccHome, cwd, env, local: { claude: { claudeBin: bin, home: ccHome, apiRetries: 0, retry: { maxAttempts: 1 } } }, onEvent: (e) => events.push(e) };
    return { env, cwd, ccHome, events, options };
  }
  const requestsOf = (sessionId: string | null | undefined) => api.messageRequests().filter((r) => r.sessionId === sessionId);
  /** The tool calls a request replays from earlier in its session. */
  const replayedTools = (r: ApiRequest) => r.messages.flatMap((m) => (Array.isArray(m.content) ? m.content.filter((b) => b.type === "tool_use" || b.type === "tool_result") : [])).map((b) => b.type);

  it("a timed-out task retried by its failure policy continues its Claude session: the resumed request carries the earlier turns", { timeout: 240_000 }, async () => {
    const { cwd, events, options } = setup();
    const summary = await runTaskList({ tasks: [{ prompt: "Build the thing in two steps\nSCRIPT: work-then-stall", timeout: 20, tools: ["Bash"], on_failure: "retry 1" }] }, options);
    expect(summary.status).toBe("completed");
    const task = summary.tasks[0] as { attempts: number; session_id: string; uuid_verified: boolean; result: string; session_resumes: unknown };
    expect(task).toMatchObject({ attempts: 2, uuid_verified: true, result: "Finished after continuing the session" });
    expect(readFileSync(join(cwd, "step1.txt"), "utf8")).toBe("step 1 done\n"); // done once, in the first run
    const requests = requestsOf(task.session_id);
    expect(requests).toHaveLength(3); // first run: the tool call, the stalled call; second run: one call
    const resumed = requests[2]!;
    expect(resumed.prompt).toContain("Build the thing in two steps");
    expect(replayedTools(resumed)).toEqual(["tool_use", "tool_result"]);
    expect(userText(resumed.turns.at(-1))).toMatch(/^Your previous run of this task stopped before it was finished \(timeout: /);
    expect(task.session_resumes).toEqual([{ attempt: 1, session_id: task.session_id, reason: expect.stringMatching(/^timeout: /), resumed: true }]);
    expect(events.find((e) => e.type === "task.started" && e.attempt === 2)).toMatchObject({ resume_session: { session_id: task.session_id } });
  });

  it("a list stopped by its budget resumes with a larger one; the stopped task continues its session", { timeout: 240_000 }, async () => {
    const { options } = setup();
    const summary = await runTaskList({ max_cost: 0.01, defaults: { tools: ["Bash"] }, tasks: ["Run the steps\nSCRIPT: steps", "Then report"] }, options);
    expect(summary.status).toBe("budget_exhausted");
    expect(summary.tasks.map((t) => t.status)).toEqual(["failed", "pending"]);
    expect(summary.tasks[0]).toMatchObject({ error_type: "budget_exhausted" });
    expect(summary.budget.spent_cost_usd).toBeGreaterThanOrEqual(0.01);
    expect(summary.budget).toMatchObject({ max_cost_usd: 0.01, remaining_cost_usd: 0, exhausted: true });
    const stopped = summary.tasks[0] as { session_id: string };

    const resumed = await resumeTaskList(summary.run_id, { ...options, budget: { maxCostUsd: 1 } }).finished;
    expect(resumed.status).toBe("completed");
    expect(resumed.tasks[0]).toMatchObject({ status: "completed", session_id: stopped.session_id, uuid_verified: true });
    const continued = requestsOf(stopped.session_id).at(-1)!;
    expect(replayedTools(continued).length).toBeGreaterThanOrEqual(4); // the steps done before the budget stop
    expect(userText(continued.turns.at(-1))).toMatch(/^Your previous run of this task stopped before it was finished \(budget_exhausted: the list's budget is spent/);
    expect(resumed.budget.max_cost_usd).toBe(1);
    expect(resumed.budget.spent_cost_usd).toBeGreaterThan(summary.budget.spent_cost_usd);
  });

  it("kill -9 of the runner mid-task: tasks resume continues the running task's session", { timeout: 240_000 }, async () => {
    const { env, cwd, ccHome } = setup();
    const plan = join(cwd, "plan.yaml");
    writeFileSync(plan, ["tasks:", "  - prompt: |", "      Build it in two steps", "      SCRIPT: work-then-stall", "    tools: [Bash]", "    timeout: 600", ""].join("\n"));
    const cliEnv = { ...env, CC_EXECUTOR_HOME: ccHome, CC_EXECUTOR_PORT: String(20000 + Math.floor(Math.random() * 30000)), CC_EXECUTOR_CLAUDE_API_RETRIES: "0" };
    const child = spawnCli(["tasks", "run", plan], { env: cliEnv, cwd });
    const running = finished(child, 120_000);
    await waitUntil(() => api.messageRequests().some((r) => /Build it in two steps/.test(r.prompt) && r.toolResults.length > 0), 90_000, "the stalled second call");
    const runId = JSON.parse((await runCli(["tasks", "list", "--json"], { env: cliEnv })).stdout)[0].run_id as string;
    const sessionId = (loadRunState(ccHome, runId).tasks["task-1"] as { session_id?: string }).session_id;
    expect(sessionId).toBeDefined();
    child.kill("SIGKILL");
    await running;
    expect(existsSync(join(cwd, "step1.txt"))).toBe(true);

    const resumed = await runCli(["tasks", "resume", runId, "--json"], { env: cliEnv, cwd, timeoutMs: 120_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    const summary = JSON.parse(resumed.stdout);
    expect(summary).toMatchObject({ status: "completed", tasks: [{ status: "completed", session_id: sessionId, session_resumes: [{ session_id: sessionId, reason: "the run stopped while this task was running", resumed: true }] }] });
    const continued = requestsOf(sessionId).at(-1)!;
    expect(replayedTools(continued)).toEqual(["tool_use", "tool_result"]);
    expect(resumed.stderr).toContain(`continuing session ${sessionId}`);
  });
});
