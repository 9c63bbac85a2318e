import { existsSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { statePaths } from "../paths.js";
import { isRunId, loadRunState } from "./checkpoint.js";
import { withRepoLock } from "./git.js";
import { commitAll, currentBranch, mainTreeOf, removeWorktree } from "./worktree.js";
import { entryNames } from "../dir-entries.js";

/** What `cleanupWorktrees` did (or, with dryRun, would do). */
export interface WorktreeCleanup {
  /** Worktrees removed: their branch is deleted when merged, kept (named here) when not. */
  removed: Array<{ run_id: string; task_id: string; path: string; branch?: string; branch_kept: boolean }>;
  /** Worktrees left alone, and why (their run is still running). */
  kept: Array<{ run_id: string; path: string; reason: string }>;
  /** Problems met (a worktree that could not be removed); the rest went on. */
  errors: Array<{ path: string; message: string }>;
}

/**
 * Removes the worktrees that isolated parallel tasks left behind (kept because a merge failed,
 * the task did not complete, or the run stopped), except those of runs still running. Work is
 * never lost: what a worktree holds uncommitted is committed to its branch first, and a branch
 * that is not merged is kept (and listed) — only the checkout goes. A later resume of the run
 * checks the branch out again.
 */
export async function cleanupWorktrees(home: string, options: { dryRun?: boolean } = {}): Promise<WorktreeCleanup> {
  const report: WorktreeCleanup = { removed: [], kept: [], errors: [] };
  const dir = statePaths(home).worktreesDir;
  for (const runId of entryNames(dir).filter(isRunId)) {
    const runPath = join(dir, runId);
    let running = false;
    try {
      running = loadRunState(home, runId).status === "running";
    } catch {
      // no checkpoint left: nothing can resume it
    }
    if (running) {
      report.kept.push({ run_id: runId, path: runPath, reason: "its run is still running" });
      continue;
    }
    for (const taskId of readdirSync(runPath)) {
      const path = join(runPath, taskId);
      try {
        const root = existsSync(join(path, ".git")) ? await mainTreeOf(path) : undefined;
        const branch = root ? await currentBranch(path) : undefined;
        if (options.dryRun) {
          report.removed.push({ run_id: runId, task_id: taskId, path, branch, branch_kept: true });
          continue;
        }
        if (!root) {
          rmSync(path, { recursive: true, force: true }); // not a worktree (any more): a leftover directory
          report.removed.push({ run_id: runId, task_id: taskId, path, branch_kept: false });
          continue;
        }
        const result = await withRepoLock(root, async () => {
          await commitAll(path, `Work of task ${taskId} of cc-executor run ${runId}, kept when its worktree was cleaned up.`);
          return removeWorktree(root, path, branch);
        });
        report.removed.push({ run_id: runId, task_id: taskId, path, branch, branch_kept: branch !== undefined && !result.branchDeleted });
      } catch (err) {
        report.errors.push({ path, message: (err as Error).message });
      }
    }
    if (!options.dryRun) {
      try {
        rmdirSync(runPath);
      } catch {
        // not empty: something could not be removed (listed in errors)
      }
    }
  }
  return report;
}
