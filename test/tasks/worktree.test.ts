import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cleanupWorktrees, loadRunState, resumeTaskList, runTaskList, type TaskListEvent, type TaskListOptions } from "../../src/tasks/index.js";
import { finished, runCli, spawnCli } from "../helpers/cli.js";
import { FAKE_CLAUDE, fakeClaude } from "../helpers/fake-claude.js";
import { waitUntil } from "../helpers/procs.js";
import { branches, gitIn, gitRepo, status, worktrees } from "../helpers/git-repo.js";

function setup(files?: Record<string, string>) {
  const fc = fakeClaude("success");
  const repo = gitRepo(files);
  const events: TaskListEvent[] = [];
  const options: TaskListOptions = {
    home: fc.home,
    cwd: repo,
    env: fc.env,
    local: { claude: { claudeBin: FAKE_CLAUDE, home: fc.home, retry: { maxAttempts: 1 } } },
    onEvent: (e) => events.push(e),
  };
  return { fc, repo, events, options };
}

const group = (tasks: Array<Record<string, unknown>>) => tasks.map((t) => ({ parallel_group: "g", ...t }));
const merges = (events: TaskListEvent[]) => events.flatMap((e) => (e.type === "task.merge" ? [e.merge] : []));
const read = (dir: string, file: string) => readFileSync(join(dir, file), "utf8");

describe("parallel groups isolated in git worktrees", () => {
  it("two tasks changing different files: each works in its own worktree and branch, both are merged back in order, worktrees and branches removed", async () => {
    const { fc, repo, events, options } = setup();
    const summary = await runTaskList(
      { tasks: [...group([{ id: "a", prompt: "Write a [fake-write:a.txt=from a]" }, { id: "b", prompt: "Write b [fake-write:b.txt=from b]" }]), { command: "cat a.txt b.txt" }] },
      options,
    );
    expect(summary.status).toBe("completed");
    // each claude ran in its own worktree, not in the repository
    const cwds = fc.calls().map((c) => c.cwd);
    expect(new Set(cwds).size).toBe(2);
    for (const cwd of cwds) expect(cwd.startsWith(join(fc.home, "worktrees", summary.run_id))).toBe(true);
    expect(fc.calls()[0]!.prompt).toContain("You work in a git worktree of your own");
    // merged in task order, into main, and the task after the group saw both
    expect(summary.merges!.map((m) => [m.task_id, m.status, m.into])).toEqual([
      ["a", "merged", "main"],
      ["b", "merged", "main"],
    ]);
    expect(read(repo, "a.txt")).toBe("from a\n");
    expect(read(repo, "b.txt")).toBe("from b\n");
    expect(summary.tasks[2]).toMatchObject({ status: "completed", result: "from a\nfrom b\n" });
    const log = gitIn(repo, "log", "--format=%s", "main");
    expect(log.indexOf("Merge task 2: Write b")).toBeLessThan(log.indexOf("Merge task 1: Write a")); // newest first
    expect(status(repo)).toBe("");
    expect(worktrees(repo)).toEqual([repo]);
    expect(branches(repo)).toEqual(["main"]);
    expect(merges(events).map((m) => m.status)).toEqual(["merged", "merged"]);
    const started = events.flatMap((e) => (e.type === "task.started" ? [e] : []));
    expect(started.map((e) => e.worktree?.branch)).toEqual([`cc-executor/${summary.run_id}/a`, `cc-executor/${summary.run_id}/b`, undefined]);
  });

  it("two tasks changing the same file: the second merge conflicts and fails as a step of its own; the branch and worktree are kept and named, the main tree is clean, the list stops; resume after resolving goes on", async () => {
    const { repo, events, options } = setup({ "shared.txt": "base\n" });
    const list = { tasks: [...group([{ id: "a", prompt: "Edit [fake-write:shared.txt=version A]" }, { id: "b", prompt: "Edit [fake-write:shared.txt=version B]" }]), { command: "cat shared.txt" }] };
    const summary = await runTaskList(list, options);
    expect(summary.status).toBe("failed");
    expect(summary.tasks.map((t) => t.status)).toEqual(["completed", "completed", "skipped"]); // both tasks did their work
    const [a, b] = summary.merges!;
    expect(a).toMatchObject({ task_id: "a", status: "merged", worktree_removed: true, branch_deleted: true });
    const branch = `cc-executor/${summary.run_id}/b`;
    expect(b).toMatchObject({ task_id: "b", status: "conflict", branch, conflicted_files: ["shared.txt"] });
    expect(b!.message).toContain(`branch ${branch}`);
    expect(b!.message).toContain("nothing is lost");
    // no half-done merge in the main tree; A's version is there, B's work is on its branch and in its worktree
    expect(status(repo)).toBe("");
    expect(existsSync(join(repo, ".git", "MERGE_HEAD"))).toBe(false);
    expect(read(repo, "shared.txt")).toBe("version A\n");
    expect(branches(repo)).toContain(branch);
    expect(gitIn(repo, "show", `${branch}:shared.txt`)).toBe("version B\n");
    expect(read(b!.worktree, "shared.txt")).toBe("version B\n");
    expect(merges(events).at(-1)).toMatchObject({ status: "conflict" });
    expect(events.find((e) => e.type === "task.merge" && e.merge.status === "conflict")).toMatchObject({ stops: true });
    expect(summary.resume_command).toBe(`cc-executor tasks resume ${summary.run_id}`);

    // The user resolves by hand, then resumes: the merge step finds the branch merged, the list goes on, nothing is rerun.
    expect(() => gitIn(repo, "merge", "-q", branch)).toThrow(); // the same conflict, by hand
    writeFileSync(join(repo, "shared.txt"), "version A\nversion B\n");
    gitIn(repo, "commit", "-q", "-am", "merge b by hand");
    events.length = 0;
    const resumed = await resumeTaskList(summary.run_id, { ...options, onEvent: (e) => events.push(e) }).finished;
    expect(resumed.status).toBe("completed");
    expect(events.filter((e) => e.type === "task.started").map((e) => (e as { task_id: string }).task_id)).toEqual(["task-3"]);
    expect(resumed.merges!.map((m) => [m.status, m.message])).toEqual([
      ["merged", undefined],
      ["empty", "already merged (the branch is part of the main tree)"],
    ]);
    expect(resumed.tasks[2]).toMatchObject({ status: "completed", result: "version A\nversion B\n" });
    expect(branches(repo)).toEqual(["main"]);
  });

  it("a conflict under on_failure continue is recorded and the list goes on; cleanup then removes the kept worktree and keeps the unmerged branch", async () => {
    const { fc, repo, options } = setup({ "shared.txt": "base\n" });
    const list = { on_failure: "continue", tasks: [...group([{ id: "a", prompt: "[fake-write:shared.txt=A]" }, { id: "b", prompt: "[fake-write:shared.txt=B]" }]), { command: "cat shared.txt" }] };
    const summary = await runTaskList(list, options);
    expect(summary.status).toBe("completed");
    expect(summary.merges!.map((m) => m.status)).toEqual(["merged", "conflict"]);
    expect(summary.tasks[2]).toMatchObject({ status: "completed", result: "A\n" });
    const kept = summary.merges![1]!;
    expect(existsSync(kept.worktree)).toBe(true);

    const report = await cleanupWorktrees(fc.home);
    expect(report.errors).toEqual([]);
    expect(report.removed).toEqual([{ run_id: summary.run_id, task_id: "b", path: kept.worktree, branch: kept.branch, branch_kept: true }]);
    expect(existsSync(kept.worktree)).toBe(false);
    expect(worktrees(repo)).toEqual([repo]);
    expect(gitIn(repo, "show", `${kept.branch}:shared.txt`)).toBe("B\n");
  });

  it("on_conflict claude: a fresh claude gets the conflict in the main tree; when it does not resolve it, the merge is undone and fails as a conflict", async () => {
    const { fc, repo, events, options } = setup({ "shared.txt": "base\n" });
    const list = { on_conflict: "claude", tasks: group([{ id: "a", prompt: "[fake-write:shared.txt=A]" }, { id: "b", prompt: "[fake-write:shared.txt=B]" }]) };
    const summary = await runTaskList(list, options);
    expect(summary.status).toBe("failed");
    const calls = fc.calls();
    expect(calls).toHaveLength(3);
    expect(calls[2]!.cwd).toBe(repo);
    expect(calls[2]!.prompt).toContain(`The merge of branch \`cc-executor/${summary.run_id}/b\` into the main tree (this directory) is in progress.`);
    expect(calls[2]!.prompt).toContain("Conflicted files: shared.txt");
    const argv = calls[2]!.argv;
    expect(argv[argv.indexOf("--allowedTools") + 1]).toContain("Bash(git commit:*)");
    const m = summary.merges![1]!;
    expect(m).toMatchObject({ status: "conflict", resolver: { id: "b.merge", status: "completed", method: "claude" } });
    expect(m.message).toContain("the claude given the conflict did not resolve it (still unmerged: shared.txt)");
    expect(status(repo)).toBe("");
    expect(events.some((e) => e.type === "task.started" && e.task_id === "b.merge")).toBe(true);
    expect(summary.budget.spent_cost_usd).toBeCloseTo(3 * 0.0123, 6); // the resolver's cost counts
  });

  it("uncommitted work in the tree before the group is committed first, so the group's tasks start from it; tasks that do not commit get their work committed on their branch", async () => {
    const { fc, repo, options } = setup();
    writeFileSync(join(repo, "earlier.txt"), "left by an earlier task\n");
    writeFileSync(join(repo, "README.md"), "# project, edited\n");
    const summary = await runTaskList({ tasks: group([{ id: "a", prompt: "[fake-write:a.txt=A]" }, { id: "b", prompt: "[fake-write:b.txt=B]" }]) }, options);
    expect(summary.status).toBe("completed");
    const cwd = fc.calls()[0]!.cwd;
    expect(cwd).not.toBe(repo);
    const log = gitIn(repo, "log", "--format=%s", "main").split("\n");
    expect(log).toContain(`cc-executor: the tree before parallel group "g" (run ${summary.run_id})`);
    // the snapshot is the branches' base: both tasks' commits sit on it
    const base = summary.merges![0]!.base;
    expect(gitIn(repo, "show", `${base}:earlier.txt`)).toBe("left by an earlier task\n");
    expect(gitIn(repo, "log", "--format=%s%n%b", "main^2", "-1")).toContain("Work of task b of cc-executor run");
    expect(read(repo, "README.md")).toBe("# project, edited\n");
    expect(status(repo)).toBe("");
  });

  it("isolation none, and directories outside git: the group runs in the one tree; isolation worktree outside git fails the group clearly", async () => {
    const { fc, repo, options } = setup();
    const none = await runTaskList({ isolation: "none", tasks: group([{ prompt: "[fake-write:x.txt=1]" }, { prompt: "[fake-write:y.txt=2]" }]) }, options);
    expect(none.status).toBe("completed");
    expect(none.merges).toBeUndefined();
    expect(fc.calls().map((c) => c.cwd)).toEqual([repo, repo]);

    const plain = mkdtempSync(join(tmpdir(), "cce-nogit-"));
    const auto = await runTaskList({ tasks: group([{ prompt: "a" }, { prompt: "b" }]) }, { ...options, cwd: plain });
    expect(auto.status).toBe("completed");
    expect(auto.merges).toBeUndefined();

    const forced = await runTaskList({ isolation: "worktree", tasks: group([{ prompt: "a" }, { prompt: "b" }]) }, { ...options, cwd: plain });
    expect(forced.status).toBe("failed");
    expect(forced.tasks[0]).toMatchObject({ status: "failed", error_type: "isolation_failed" });
    expect((forced.tasks[0] as { message: string }).message).toMatch(/cannot isolate parallel group "g" in git worktrees: .* is not in a git repository/);
  });

  it("a merge in progress in the main tree: the group does not start, and says why", async () => {
    const { repo, options } = setup({ "f.txt": "base\n" });
    gitIn(repo, "checkout", "-q", "-b", "other");
    writeFileSync(join(repo, "f.txt"), "other\n");
    gitIn(repo, "commit", "-q", "-am", "other");
    gitIn(repo, "checkout", "-q", "main");
    writeFileSync(join(repo, "f.txt"), "main\n");
    gitIn(repo, "commit", "-q", "-am", "main");
    expect(() => gitIn(repo, "merge", "-q", "other")).toThrow();
    const summary = await runTaskList({ tasks: group([{ prompt: "a" }, { prompt: "b" }]) }, options);
    expect(summary.status).toBe("failed");
    expect((summary.tasks[0] as { message: string }).message).toContain("a merge is in progress in the main tree");
    expect(loadRunState(options.home!, summary.run_id).merges).toBeUndefined();
  });
});

describe("isolated groups from the CLI", () => {
  const env = (fc: ReturnType<typeof fakeClaude>) => ({ ...fc.env, CC_EXECUTOR_HOME: fc.home, CC_EXECUTOR_PORT: String(20000 + Math.floor(Math.random() * 30000)) });

  it("kill -9 of the runner mid-group: resume reuses the worktrees, reruns only the unfinished task (its earlier writes still there), then merges both", async () => {
    const fc = fakeClaude("success");
    const repo = gitRepo();
    const plan = join(repo, "plan.yaml");
    writeFileSync(plan, ["tasks:", "  - id: a", "    prompt: Quick [fake-write:a.txt=A]", "    parallel_group: g", "  - id: b", "    prompt: Long [fake:hang_once] [fake-write:b.txt=B]", "    parallel_group: g", ""].join("\n"));
    gitIn(repo, "add", "plan.yaml");
    gitIn(repo, "commit", "-q", "-m", "plan");
    const child = spawnCli(["tasks", "run", plan], { env: env(fc), cwd: repo });
    const running = finished(child, 60_000);
    // a has completed and b hangs after writing b.txt in its worktree
    await waitUntil(() => fc.calls().some((c) => c.prompt.includes("Quick")) && fc.calls().some((c) => c.prompt.includes("Long")), 30_000, "both tasks to have worked");
    const runId = JSON.parse((await runCli(["tasks", "list", "--json"], { env: env(fc) })).stdout)[0].run_id as string;
    await waitUntil(() => loadRunState(fc.home, runId).tasks.a?.status === "completed", 10_000, "task a to be checkpointed");
    child.kill("SIGKILL");
    await running;
    const bTree = join(fc.home, "worktrees", runId, "b");
    expect(readFileSync(join(bTree, "b.txt"), "utf8")).toBe("B\n");

    const resumed = await runCli(["tasks", "resume", runId, "--json"], { env: env(fc), cwd: repo, timeoutMs: 60_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    const summary = JSON.parse(resumed.stdout);
    expect(summary).toMatchObject({ status: "completed", completed: 2 });
    expect(summary.merges.map((m: { task_id: string; status: string }) => [m.task_id, m.status])).toEqual([
      ["a", "merged"],
      ["b", "merged"],
    ]);
    const calls = fc.calls();
    expect(calls.filter((c) => c.prompt.includes("Quick"))).toHaveLength(1); // a is not rerun
    // the killed call, then its rerun in the same worktree, continuing the killed call's Claude session
    const bRuns = calls.filter((c) => c.cwd === bTree);
    expect(bRuns).toHaveLength(2);
    expect(bRuns[1]!.resumed).toBe(true);
    expect(bRuns[1]!.argv.slice(bRuns[1]!.argv.indexOf("--resume"), bRuns[1]!.argv.indexOf("--resume") + 2)).toEqual(["--resume", bRuns[0]!.session_id]);
    expect(bRuns[1]!.prompt).toContain("Your previous run of this task stopped before it was finished (the run stopped while this task was running)");
    expect(summary.tasks[1].session_resumes).toEqual([{ attempt: 1, session_id: bRuns[0]!.session_id, reason: "the run stopped while this task was running", resumed: true }]);
    expect(readFileSync(join(repo, "a.txt"), "utf8")).toBe("A\n");
    expect(readFileSync(join(repo, "b.txt"), "utf8")).toBe("B\n");
    expect(worktrees(repo)).toEqual([repo]);
    expect(status(repo)).toBe("");
    expect(resumed.stderr).toMatch(/⎇ \[1\/2\] Quick .*merged into main/);
  });

  it("cc-executor cleanup removes the worktree a conflict kept and names the branch that keeps its work", async () => {
    const fc = fakeClaude("success");
    const repo = gitRepo({ "shared.txt": "base\n" });
    const plan = join(repo, "plan.yaml");
    writeFileSync(plan, ["on_failure: continue", "tasks:", "  - prompt: a [fake-write:shared.txt=A]", "    parallel_group: g", "  - prompt: b [fake-write:shared.txt=B]", "    parallel_group: g", ""].join("\n"));
    gitIn(repo, "add", "plan.yaml");
    gitIn(repo, "commit", "-q", "-m", "plan");
    const run = await runCli(["tasks", "run", plan, "--json"], { env: env(fc), cwd: repo, timeoutMs: 60_000 });
    expect(run.code, run.stderr).toBe(0);
    const kept = JSON.parse(run.stdout).merges[1];
    expect(kept).toMatchObject({ status: "conflict" });
    expect(run.stderr).toContain(`merge conflict: merge conflict in shared.txt; nothing is lost: the task's work is on branch ${kept.branch}`);
    const dry = JSON.parse((await runCli(["cleanup", "--dry-run", "--json"], { env: env(fc) })).stdout);
    expect(dry.worktrees.removed.map((w: { path: string }) => w.path)).toEqual([kept.worktree]);
    expect(existsSync(kept.worktree)).toBe(true);
    const done = await runCli(["cleanup"], { env: env(fc) });
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toContain(`worktrees: removed 1 left by parallel tasks; their unmerged work stays on ${kept.branch}`);
    expect(existsSync(kept.worktree)).toBe(false);
    expect(gitIn(repo, "show", `${kept.branch}:shared.txt`)).toBe("B\n");
  });

  it("tasks validate shows each group's isolation and conflict policy, and the list's budget", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cce-val-"));
    const file = join(dir, "plan.md");
    writeFileSync(file, "# Task List: demo\nMax-Cost: 2.50\nMax-Tokens: 1M\n\n## Phase Build: parallel\nIsolation: none\n\n### Task 1: a\nA\n\n### Task 2: b\nB\n\n## Phase Review: parallel\nOn-Conflict: claude\n\n### Task 3: c\nC\n\n### Task 4: d\nD\n");
    const r = await runCli(["tasks", "validate", file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("demo: 4 task(s) · budget $2.5, 1000000 tokens");
    expect(r.stdout).toContain('parallel group "Build" (isolation: none, on conflict: fail)');
    expect(r.stdout).toContain('parallel group "Review" (isolation: worktree in a git repository, on conflict: claude)');
  });
});
