import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRunState, resumeTaskList, runTaskList, startTaskList, TaskListError, type TaskListEvent, type TaskListOptions, type TaskOutcome } from "../../src/tasks/index.js";
import { FAKE_CLAUDE, fakeClaude } from "../helpers/fake-claude.js";
import { liveSleeps, uniqueSleep, waitUntil } from "../helpers/procs.js";

function setup(scenario = "success", extraEnv: Record<string, string> = {}) {
  const fc = fakeClaude(scenario, extraEnv);
  const cwd = mkdtempSync(join(tmpdir(), "cce-tl-cwd-"));
  const events: TaskListEvent[] = [];
  const options: TaskListOptions = {
    home: fc.home,
    cwd,
    env: fc.env,
    local: { claude: { claudeBin: FAKE_CLAUDE, home: fc.home, retry: { baseDelayMs: 10, maxDelayMs: 20 } } },
    onEvent: (e) => events.push(e),
  };
  return { fc, cwd, events, options };
}

const outcomes = (events: TaskListEvent[]) => events.flatMap((e) => (e.type === "task.completed" || e.type === "task.failed" ? [e.outcome] : []));
const ms = (iso: string) => Date.parse(iso);

describe("task-list runner", () => {
  it("runs tasks in strict order: each starts only after the previous one ended (fake-claude's own clock)", async () => {
    const { fc, options, events } = setup("success", { FAKE_CLAUDE_WORK_MS: "40" });
    const prompts = Array.from({ length: 8 }, (_, i) => `Step ${i + 1}`);
    const summary = await runTaskList(prompts, options);
    expect(summary).toMatchObject({ status: "completed", completed: 8, total: 8, failed: 0 });
    const calls = fc.calls();
    expect(calls).toHaveLength(8);
    calls.forEach((c, i) => expect(c.prompt.split("## Results of earlier tasks").at(-1)).toContain(`Step ${i + 1}`));
    for (let i = 1; i < calls.length; i++) expect(calls[i]!.started_at).toBeGreaterThanOrEqual(calls[i - 1]!.ended_at);
    // and in the runner's own record
    const o = outcomes(events);
    for (let i = 1; i < o.length; i++) expect(ms(o[i]!.started_at)).toBeGreaterThanOrEqual(ms(o[i - 1]!.ended_at));
    expect(events[0]!.type).toBe("tasklist.started");
    expect(events.at(-1)!.type).toBe("tasklist.completed");
  });

  it("passes results forward: task 3's prompt carries tasks 1 and 2's results, and references are filled", async () => {
    const { fc, options } = setup("json");
    const summary = await runTaskList(
      {
        name: "ctx",
        defaults: { json: true },
        tasks: [{ prompt: "Create the API" }, { command: "echo direct-output-42; exit 0" }, { prompt: "Write tests. Earlier: {{tasks.1.summary}} / {{tasks.2.output}}" }],
      },
      options,
    );
    expect(summary.status).toBe("completed");
    const third = fc.calls()[1]!.prompt; // the direct task does not call claude
    expect(third).toContain("## Results of earlier tasks");
    expect(third).toContain("### Task 1: Create the API (completed)");
    expect(third).toContain("Summary: Did what was asked: Create the API");
    expect(third).toContain("Files created: output.txt");
    expect(third).toContain("Direct command, exit code 0.");
    expect(third).toContain("direct-output-42");
    expect(third).toContain("Earlier: Did what was asked: Create the API / direct-output-42");
    expect(fc.calls()[0]!.prompt).not.toContain("Results of earlier tasks");
  });

  it("compacts the context when it would get too long", async () => {
    const { fc, options } = setup();
    const prompts = Array.from({ length: 12 }, (_, i) => `Task number ${i + 1} ${"x".repeat(200)}`);
    await runTaskList(prompts, { ...options, contextChars: 2000 });
    const last = fc.calls().at(-1)!.prompt;
    const context = last.split("## Your task")[0]!;
    expect(context.length).toBeLessThanOrEqual(2000);
    expect(context).toContain("### Task 11:"); // the most recent keep full entries
    expect(context).toMatch(/omitted|- Task 1:/); // older ones shrink or are dropped with a note
  });

  it("refuses references to later or unknown tasks before running anything", () => {
    const { options } = setup();
    expect(() => startTaskList(["see {{tasks.2.result}}", "b"], options)).toThrow(TaskListError);
    expect(() => startTaskList(["see {{tasks.nope.result}}"], options)).toThrow(/refers to no task/);
  });

  it("parallel group: tasks overlap up to the concurrency limit, and the next task waits for the whole group", async () => {
    const { options, events } = setup();
    const list = {
      tasks: [
        { command: "echo first" },
        ...["a", "b", "c"].map((x) => ({ id: x, command: `sleep 0.4; echo ${x}`, parallel_group: "g" })),
        { command: "echo after" },
      ],
    };
    const summary = await runTaskList(list, { ...options, concurrency: 2 });
    expect(summary.status).toBe("completed");
    const o = Object.fromEntries(outcomes(events).map((x) => [x.id, x]));
    const group = ["a", "b", "c"].map((id) => o[id]!);
    const overlapping = (x: TaskOutcome, y: TaskOutcome) => ms(x.started_at) < ms(y.ended_at) && ms(y.started_at) < ms(x.ended_at);
    expect(overlapping(group[0]!, group[1]!)).toBe(true);
    // concurrency 2: the third starts only when one of the first two ended
    expect(ms(group[2]!.started_at)).toBeGreaterThanOrEqual(Math.min(ms(group[0]!.ended_at), ms(group[1]!.ended_at)));
    for (const g of group) expect(ms(g.started_at)).toBeGreaterThanOrEqual(ms(o["task-1"]!.ended_at));
    expect(ms(o["task-5"]!.started_at)).toBeGreaterThanOrEqual(Math.max(...group.map((g) => ms(g.ended_at))));
  });

  it("failure policy stop (default): the list stops, later tasks are not run, and say so", async () => {
    const { fc, options, events } = setup();
    const summary = await runTaskList(["one", "[fake:crash] two", "three"], { ...options, local: { ...options.local, claude: { ...options.local!.claude, retry: { maxAttempts: 1 } } } });
    expect(summary).toMatchObject({ status: "failed", completed: 1, failed: 1, skipped: 1 });
    expect(fc.calls()).toHaveLength(2);
    expect(events.some((e) => e.type === "task.skipped" && e.task_id === "task-3")).toBe(true);
    expect(summary.resume_command).toBe(`cc-executor tasks resume ${summary.run_id}`);
  });

  it("failure policy continue: a failed task is recorded and the list goes on", async () => {
    const { options } = setup();
    const summary = await runTaskList({ on_failure: "continue", tasks: [{ command: "exit 7" }, { command: "echo ok" }] }, options);
    expect(summary).toMatchObject({ status: "completed", completed: 1, failed: 1 });
    expect(summary.tasks[0]).toMatchObject({ status: "failed", exit_code: 7, error_type: "nonzero_exit" });
  });

  it("failure policy retry N: reruns the task, then goes on once it passes", async () => {
    const { options, cwd, events } = setup();
    const flaky = "if [ -f tried ]; then echo fine; else touch tried; exit 1; fi";
    const summary = await runTaskList({ tasks: [{ command: flaky, on_failure: "retry 2" }, { command: "echo next" }] }, options);
    expect(summary.status).toBe("completed");
    expect(summary.tasks[0]).toMatchObject({ status: "completed", attempts: 2 });
    expect(existsSync(join(cwd, "tried"))).toBe(true);
    expect(events.filter((e) => e.type === "task.failed").map((e) => (e as { will_retry: boolean }).will_retry)).toEqual([true]);
    const always = await runTaskList({ tasks: [{ command: "exit 3", on_failure: { retry: 2 } }] }, options);
    expect(always.tasks[0]).toMatchObject({ status: "failed", attempts: 3 });
  });

  it("a direct task's timeout kills its process group and fails the task", async () => {
    const { options } = setup();
    const sleep = uniqueSleep();
    const summary = await runTaskList({ tasks: [{ command: `sleep ${sleep}`, timeout: 1 }] }, options);
    expect(summary.tasks[0]).toMatchObject({ status: "timeout", error_type: "timeout" });
    expect(liveSleeps(sleep)).toEqual([]);
  });

  it("cancel stops the running task (no process left) and the run can be resumed from there", async () => {
    const { options, events } = setup();
    const sleep = uniqueSleep();
    const run = startTaskList({ tasks: [{ command: "echo one" }, { command: `sleep ${sleep}` }, { command: "echo three" }] }, options);
    await waitUntil(() => liveSleeps(sleep).length > 0, 10_000, "the sleep to start");
    const summary = await run.cancel();
    expect(summary).toMatchObject({ status: "canceled", completed: 1 });
    expect(liveSleeps(sleep)).toEqual([]);
    expect(loadRunState(options.home!, run.runId).tasks["task-2"]).toMatchObject({ status: "canceled" });

    events.length = 0;
    const resumed = resumeTaskList(run.runId, { ...options, onEvent: (e) => events.push(e) });
    await waitUntil(() => liveSleeps(sleep).length > 0, 10_000, "the sleep to start again");
    await resumed.cancel();
    const started = events.filter((e) => e.type === "task.started").map((e) => (e as { task_id: string }).task_id);
    expect(started).toEqual(["task-2"]); // task 1 is not rerun
    expect(events[0]).toMatchObject({ type: "tasklist.started", resumed: true, already_done: ["task-1"] });
  });

  it("writes a markdown report and a JSON summary (run folder and --report path)", async () => {
    const { options, cwd } = setup();
    const reportPath = join(cwd, "report.md");
    const summary = await runTaskList({ name: "Reported", tasks: [{ title: "Ask", prompt: "Say hi" }, { title: "List", command: "echo listed" }] }, { ...options, report: reportPath });
    const md = readFileSync(reportPath, "utf8");
    expect(md).toContain("# Task list report: Reported");
    expect(md).toMatch(/\| 1 \| Ask \| claude \| ✅ completed \| \d+ ms \| 1 \| 1500\/420 \| \$0\.0123 \| verified \|/);
    expect(md).toMatch(/\| 2 \| List \| direct \| ✅ completed \|/);
    expect(md).toContain("Summary: Completed: Say hi");
    expect(md).toContain("Transcript: `");
    expect(readFileSync(summary.report_path!, "utf8")).toBe(md);
    const json = JSON.parse(readFileSync(summary.json_report_path!, "utf8"));
    expect(json).toMatchObject({ name: "Reported", status: "completed", completed: 2, input_tokens: 1500, output_tokens: 420, cost_usd: 0.0123 });
    const jsonReport = join(cwd, "r.json");
    await runTaskList(["again"], { ...options, report: jsonReport });
    expect(JSON.parse(readFileSync(jsonReport, "utf8")).tasks[0].uuid_verified).toBe(true);
  });
});
