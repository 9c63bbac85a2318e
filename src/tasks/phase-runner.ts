import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { baseOutcome, newExecutionId } from "./executor.js";
import { withRepoLock } from "./git.js";
import { mergeGroup } from "./merge.js";
import { groupSettings, type GroupSettings, type Phase, type TaskOutcome, type TaskSpec } from "./model.js";
import type { RunContext } from "./run-context.js";
import { policyOf, runTask, settled, type Placement, type TaskRun } from "./task-runner.js";
import { branchName, commitAll, currentBranch, findRepo, headCommit, openWorktree, repoBusy, worktreePath } from "./worktree.js";

/** How a phase ended for the list: go on, or stop because a task (or merge) failed or the budget ran out. */
export interface PhaseEnd {
  stop?: "failure" | "budget";
}

function endOf(ctx: RunContext, runs: Array<{ task: TaskSpec; run?: TaskRun }>): PhaseEnd {
  if (runs.some(({ run }) => run?.budgetStop)) return { stop: "budget" };
  const failed = runs.some(({ task, run }) => run?.outcome && !settled(run.outcome, policyOf(task, ctx.list, ctx.options)));
  return failed ? { stop: "failure" } : {};
}

/**
 * One phase of the list: a task on its own, or a parallel group — up to `concurrency` tasks at
 * once, its claude tasks each in a worktree of their own when the group is isolated, then the
 * group's merges in task order. `toRun` are the phase's tasks not settled yet (all of them, unless resumed).
 */
export async function runPhase(ctx: RunContext, phase: Phase, toRun: TaskSpec[], earlier: TaskOutcome[]): Promise<PhaseEnd> {
  if (phase.kind === "sequential") {
    const run = await runTask(ctx, phase.task, earlier, { cwd: ctx.state.cwd });
    return endOf(ctx, [{ task: phase.task, run }]);
  }
  const settings = groupSettings(ctx.list, phase.group);
  let placements: Map<string, Placement>;
  try {
    placements = await placeGroup(ctx, phase.group, toRun, settings);
  } catch (err) {
    return failUnstarted(ctx, toRun, `cannot isolate parallel group "${phase.group}" in git worktrees: ${(err as Error).message} (set isolation: none to run it in one tree)`);
  }
  const end = endOf(ctx, await runPool(ctx, toRun, earlier, placements));
  if (end.stop === "budget" || ctx.canceled) return end;
  // Merges follow the whole group, in task order (tasks that must run again are merged after they complete).
  const mergeStops = await mergeGroup(ctx, phase.tasks, settings.onConflict);
  return end.stop ? end : mergeStops ? { stop: "failure" } : {};
}

/** Runs up to `concurrency` tasks at once; after a failure that stops the list, or with the budget spent, starts no more. */
async function runPool(ctx: RunContext, tasks: TaskSpec[], earlier: TaskOutcome[], placements: Map<string, Placement>): Promise<Array<{ task: TaskSpec; run?: TaskRun }>> {
  const limit = tasks.length === 1 ? 1 : Math.max(1, ctx.state.options.concurrency);
  const results: Array<{ task: TaskSpec; run?: TaskRun }> = tasks.map((task) => ({ task }));
  let next = 0;
  let halt = false;
  const worker = async () => {
    while (next < tasks.length) {
      const slot = results[next++]!;
      if (ctx.budget.exhausted()) {
        slot.run = { budgetStop: true }; // left pending: it runs on resume, with more budget
        continue;
      }
      if (halt || ctx.canceled) {
        ctx.skip(slot.task, ctx.canceled ? "the run was canceled" : "another task of its group failed");
        continue;
      }
      const placement = placements.get(slot.task.id) ?? { cwd: ctx.state.cwd };
      slot.run = await runTask(ctx, slot.task, earlier, placement);
      if (placement.worktree) await keepWork(ctx, slot.task, placement.worktree.path, slot.run.outcome);
      if (slot.run.outcome && !settled(slot.run.outcome, policyOf(slot.task, ctx.list, ctx.options))) halt = true;
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** Commits what an isolated task left in its worktree to its branch (claude may not have committed, or not everything). */
async function keepWork(ctx: RunContext, task: TaskSpec, worktree: string, outcome: TaskOutcome | undefined): Promise<void> {
  const repo = ctx.state.merges?.[task.id]?.repo;
  if (!repo || !existsSync(worktree)) return;
  const message = `${task.title}\n\nWork of task ${task.id} of cc-executor run ${ctx.runId} (${outcome?.status ?? "not run"}).`;
  await withRepoLock(repo, () => commitAll(worktree, message)).catch((err: Error) => ctx.logger.warn({ err: err.message, worktree }, "cannot commit an isolated task's work to its branch; it stays in the worktree"));
}

/**
 * The places of a group's claude tasks: a worktree each (made or reused) on a branch of its own,
 * from the main tree's HEAD — after committing what the tree holds, so that the tasks see the
 * work of the tasks before them. No isolation (an empty map) when it is off, when the group has
 * no claude task to run, or when the directory is not in a git repository and isolation was not
 * asked for by name.
 */
async function placeGroup(ctx: RunContext, group: string, toRun: TaskSpec[], settings: GroupSettings): Promise<Map<string, Placement>> {
  const placements = new Map<string, Placement>();
  const isolated = toRun.filter((t) => t.method === "claude");
  const wanted = ctx.state.options.isolation ?? settings.isolation;
  if (wanted === "none" || isolated.length === 0) return placements;
  const place = await findRepo(ctx.state.cwd).catch((err: Error) => {
    if (wanted === "worktree") throw err;
    ctx.logger.warn({ err: err.message }, "git is not available: parallel groups run without worktree isolation");
    return undefined;
  });
  if (!place) {
    if (wanted === "worktree") throw new Error(`${ctx.state.cwd} is not in a git repository`);
    return placements;
  }
  const { root } = place;
  await withRepoLock(root, async () => {
    const busy = await repoBusy(root);
    if (busy) throw new Error(busy);
    await commitAll(root, `cc-executor: the tree before parallel group "${group}" (run ${ctx.runId})\n\nUncommitted work, kept in a commit so that the group's tasks start from it.`);
    const base = (await headCommit(root))!;
    const into = await currentBranch(root);
    for (const task of isolated) {
      const branch = branchName(ctx.runId, task.id);
      const path = worktreePath(ctx.home, ctx.runId, task.id);
      await openWorktree(root, { branch, path, base });
      const cwd = join(path, place.subdir);
      mkdirSync(cwd, { recursive: true });
      const before = ctx.state.merges?.[task.id];
      ctx.setMerge({ task_id: task.id, index: task.index, title: task.title, branch, worktree: path, repo: root, base: before?.base ?? base, ...(into ? { into } : {}), status: "pending" });
      placements.set(task.id, { cwd, worktree: { path, branch } });
    }
  });
  return placements;
}

/** A group that could not start: each of its tasks failed with the reason, and the failure policies apply. */
function failUnstarted(ctx: RunContext, tasks: TaskSpec[], message: string): PhaseEnd {
  const runs = tasks.map((task) => {
    const request = { runId: ctx.runId, task, timeoutS: 0, cwd: ctx.state.cwd, env: {}, attempt: 1, executionId: newExecutionId() };
    const outcome: TaskOutcome = { ...baseOutcome(request, Date.now()), status: "failed", result: "", summary: `not run: ${message}`, error_type: "isolation_failed", message };
    ctx.setTask(outcome);
    ctx.emit({ type: "task.failed", run_id: ctx.runId, outcome, will_retry: false, policy: policyOf(task, ctx.list, ctx.options) });
    return { task, run: { outcome, budgetStop: false } };
  });
  return endOf(ctx, runs);
}
