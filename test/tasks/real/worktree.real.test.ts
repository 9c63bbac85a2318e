/*
 * Worktree isolation of parallel groups with the real claude CLI (pinned devDependency) against
 * the Messages API double: the "model" runs Bash commands that change files, in whatever directory
 * the CLI was started in — so what lands where is what the CLI really did.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runTaskList, type TaskListEvent } from "../../../src/tasks/index.js";
import { gitIn, gitRepo, branches, status, worktrees } from "../../helpers/git-repo.js";
import { obedientAnswer, reply, type ApiRequest } from "../../helpers/messages-api.js";
import { useMessagesApi, realClaudeEnv } from "../../helpers/real-claude.js";

/** `RUN: <shell command>` in the task's prompt: the model runs it with Bash, then answers with the UUID. */
function shellWorker(req: ApiRequest) {
  if (req.toolResults.length > 0) return obedientAnswer(req);
  if (/A git merge stopped with conflicts/.test(req.prompt)) {
    // The resolver: keep both sides, then finish the merge as the prompt asks.
    return reply.toolUse("Bash", { command: "printf 'version A\\nversion B\\n' > shared.txt && git add shared.txt && git commit -q --no-edit", description: "resolve" });
  }
  const run = /RUN: (.+)$/m.exec(req.prompt.split("## Your task").at(-1)!);
  return run ? reply.toolUse("Bash", { command: run[1]!, description: "do the task" }) : obedientAnswer(req);
}

describe("real claude CLI: parallel groups in git worktrees", () => {
  const api = useMessagesApi(shellWorker);

  function setup(files: Record<string, string>) {
    const { env, bin, home } = realClaudeEnv(api);
    const repo = gitRepo(files);
    const events: TaskListEvent[] = [];
    const ccHome = join(home, ".cce");
    return {
      repo,
      events,
      options: { home: ccHome, cwd: repo, env, local: { claude: { claudeBin: bin, home: ccHome, retry: { maxAttempts: 1 } } }, onEvent: (e: TaskListEvent) => events.push(e) },
    };
  }
  const cwdOf = (sessionId: string | undefined) => api.messageRequests().find((r) => r.sessionId === sessionId)!.workingDirectory;

  it("two tasks changing different files: each claude works in its own worktree; both branches are merged", { timeout: 180_000 }, async () => {
    const { repo, options } = setup({ "README.md": "# x\n" });
    const before = api.sessions().length;
    const summary = await runTaskList(
      {
        defaults: { tools: ["Bash"] },
        tasks: [
          { id: "a", prompt: "Create a.txt\nRUN: printf 'from a\\n' > a.txt", parallel_group: "g" },
          { id: "b", prompt: "Create b.txt\nRUN: printf 'from b\\n' > b.txt", parallel_group: "g" },
        ],
      },
      options,
    );
    expect(summary.status).toBe("completed");
    expect(summary.tasks.map((t) => [t.status, (t as { uuid_verified?: boolean }).uuid_verified])).toEqual([
      ["completed", true],
      ["completed", true],
    ]);
    const sessions = api.sessions().slice(before);
    expect(sessions).toHaveLength(2);
    const dirs = sessions.map(cwdOf);
    expect(dirs.every((d) => d?.startsWith(join(options.home, "worktrees", summary.run_id)))).toBe(true);
    expect(new Set(dirs).size).toBe(2);
    expect(summary.merges!.map((m) => m.status)).toEqual(["merged", "merged"]);
    expect(readFileSync(join(repo, "a.txt"), "utf8")).toBe("from a\n");
    expect(readFileSync(join(repo, "b.txt"), "utf8")).toBe("from b\n");
    expect(status(repo)).toBe("");
    expect(worktrees(repo)).toEqual([repo]);
    expect(branches(repo)).toEqual(["main"]);
  });

  it("two tasks changing the same file: the second merge conflicts, its branch is kept; with on_conflict claude a fresh claude resolves it", { timeout: 300_000 }, async () => {
    const list = (onConflict?: string) => ({
      defaults: { tools: ["Bash"] },
      ...(onConflict ? { on_conflict: onConflict } : {}),
      tasks: [
        { id: "a", prompt: "Rewrite shared.txt\nRUN: printf 'version A\\n' > shared.txt", parallel_group: "g" },
        { id: "b", prompt: "Rewrite shared.txt\nRUN: printf 'version B\\n' > shared.txt", parallel_group: "g" },
      ],
    });
    const plain = setup({ "shared.txt": "base\n" });
    const failed = await runTaskList(list(), plain.options);
    expect(failed.status).toBe("failed");
    const kept = failed.merges![1]!;
    expect(kept).toMatchObject({ status: "conflict", conflicted_files: ["shared.txt"] });
    expect(gitIn(plain.repo, "show", `${kept.branch}:shared.txt`)).toBe("version B\n");
    expect(existsSync(kept.worktree)).toBe(true);
    expect(readFileSync(join(plain.repo, "shared.txt"), "utf8")).toBe("version A\n");
    expect(status(plain.repo)).toBe("");

    const resolving = setup({ "shared.txt": "base\n" });
    const resolved = await runTaskList(list("claude"), resolving.options);
    expect(resolved.status).toBe("completed");
    expect(resolved.merges![1]).toMatchObject({ status: "merged", resolver: { status: "completed", uuid_verified: true } });
    expect(readFileSync(join(resolving.repo, "shared.txt"), "utf8")).toBe("version A\nversion B\n");
    expect(gitIn(resolving.repo, "log", "-1", "--format=%P").trim().split(" ")).toHaveLength(2); // a real merge commit
    expect(status(resolving.repo)).toBe("");
    expect(branches(resolving.repo)).toEqual(["main"]);
    const resolver = resolving.events.find((e) => e.type === "task.started" && e.task_id === "b.merge");
    expect(resolver).toBeDefined();
  });
});
