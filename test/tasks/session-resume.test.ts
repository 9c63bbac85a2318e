import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRunState, resumeTaskList, runTaskList, startTaskList, type TaskListEvent, type TaskListOptions } from "../../src/tasks/index.js";
import { FAKE_CLAUDE, fakeClaude } from "../helpers/fake-claude.js";
import { waitUntil } from "../helpers/procs.js";

function setup() {
  const fc = fakeClaude("success");
  const cwd = mkdtempSync(join(tmpdir(), "cce-sess-"));
  const events: TaskListEvent[] = [];
  const options: TaskListOptions = { home: fc.home, cwd, env: fc.env, local: { claude: { claudeBin: FAKE_CLAUDE, home: fc.home, retry: { maxAttempts: 1 } } }, onEvent: (e) => events.push(e) };
  return { fc, cwd, events, options };
}
const argOf = (argv: string[], flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);

describe("task lists continue a task's Claude session", () => {
  it("a timed-out task retried by its failure policy continues its session instead of starting over", async () => {
    const { fc, events, options } = setup();
    const summary = await runTaskList({ tasks: [{ prompt: "Long work [fake:hang_once]", timeout: 2, on_failure: "retry 1" }] }, options);
    expect(summary.status).toBe("completed");
    const [first, second] = fc.calls();
    expect(argOf(second!.argv, "--resume")).toBe(first!.session_id);
    expect(second!.prompt).toMatch(/^Your previous run of this task stopped before it was finished \(timeout: /);
    expect(summary.tasks[0]).toMatchObject({ status: "completed", attempts: 2, session_id: first!.session_id, session_resumes: [{ attempt: 1, session_id: first!.session_id, resumed: true }] });
    const started = events.flatMap((e) => (e.type === "task.started" ? [e] : []));
    expect(started[0]!.resume_session).toBeUndefined();
    expect(started[1]!.resume_session).toEqual({ session_id: first!.session_id, reason: expect.stringMatching(/^timeout: /) });
  });

  it("the session id is in the checkpoint while the task runs; resuming a canceled run continues that session", async () => {
    const { fc, options } = setup();
    const run = startTaskList({ tasks: ["first", { prompt: "Long work [fake:hang_once]" }] }, options);
    await waitUntil(() => (loadRunState(options.home!, run.runId).tasks["task-2"] as { session_id?: string } | undefined)?.session_id !== undefined, 20_000, "the session id in the checkpoint");
    const sessionId = (loadRunState(options.home!, run.runId).tasks["task-2"] as { session_id: string }).session_id;
    const canceled = await run.cancel();
    expect(canceled.tasks[1]).toMatchObject({ status: "canceled", session_id: sessionId });
    const resumed = await resumeTaskList(run.runId, options).finished;
    expect(resumed.status).toBe("completed");
    const last = fc.calls().at(-1)!;
    expect(argOf(last.argv, "--resume")).toBe(sessionId);
  });

  it("resume_sessions: false (the run) or resume_session: false (the task): retries start afresh", async () => {
    for (const list of [
      { tasks: [{ prompt: "Long [fake:hang_once]", timeout: 2, on_failure: "retry 1" }] },
      { tasks: [{ prompt: "Long [fake:hang_once]", timeout: 2, on_failure: "retry 1", resume_session: false }] },
    ]) {
      const { fc, options } = setup();
      const summary = await runTaskList(list, "resume_session" in list.tasks[0]! ? options : { ...options, resumeSessions: false });
      expect(summary.status).toBe("completed");
      expect(fc.calls().map((c) => argOf(c.argv, "--resume"))).toEqual([undefined, undefined]);
      expect(fc.calls()[1]!.prompt).toContain("Long");
    }
  });
});
