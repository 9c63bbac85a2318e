import { existsSync } from "node:fs";
import { withRepoLock } from "./git.js";
import { newExecutionId, type TaskRequest } from "./executor.js";
import { mergeDone, type ConflictPolicy, type MergeStep, type TaskOutcome, type TaskSpec } from "./model.js";
import type { RunContext } from "./run-context.js";
import { DEFAULT_TIMEOUTS, policyOf, reportEnd, runAttempt, settled, withDefaults } from "./task-runner.js";
import { abortMerge, branchTip, commitAll, concludeMerge, mergeBranch, removeWorktree, repoBusy } from "./worktree.js";

/** Tools the conflict resolver may use on top of the task's own: reading and editing files, and the git commands of a merge. */
const RESOLVER_TOOLS = ["Read", "Edit", "Write", "Grep", "Glob", "Bash(git status:*)", "Bash(git diff:*)", "Bash(git add:*)", "Bash(git commit:*)", "Bash(git log:*)", "Bash(git show:*)"];

function mergeMessage(m: MergeStep): string {
  return `Merge task ${m.index}: ${m.title}\n\nBranch ${m.branch} of cc-executor run, task ${m.task_id}.`;
}

/** What the user reads when a merge did not happen: what is kept where, and how to go on. */
function keptMessage(m: MergeStep, why: string, runId: string): string {
  return `${why}; nothing is lost: the task's work is on branch ${m.branch} (worktree ${m.worktree}). Merge it yourself (git merge ${m.branch}) and resume (cc-executor tasks resume ${runId}), or resume to try the merge again`;
}

function resolverPrompt(m: MergeStep, outcome: TaskOutcome | undefined, files: readonly string[]): string {
  return [
    `A git merge stopped with conflicts. The merge of branch \`${m.branch}\` into the main tree (this directory) is in progress.`,
    "",
    `That branch holds the work of task ${m.index} "${m.title}"${outcome?.summary ? `, which reported: ${outcome.summary}` : ""}.`,
    "The main tree holds the work of the earlier tasks, and of the other tasks of the same parallel group merged before it.",
    "",
    `Conflicted files: ${files.join(", ")}`,
    "",
    "Resolve every conflict so that the intent of both sides is kept (combine them; do not just take one side).",
    "Remove every conflict marker, `git add` the resolved files, and finish the merge with `git commit --no-edit`.",
    "Do not abort the merge, reset, switch branches, or change files that are not part of the conflict.",
  ].join("\n");
}

/**
 * Hands a conflicted merge to a fresh claude in the main tree, then checks its work: nothing
 * unmerged, no conflict marker left, the branch part of HEAD. Its cost counts against the list's
 * budget. Returns the resolver's outcome and whether the merge is now done.
 */
async function resolveWithClaude(ctx: RunContext, task: TaskSpec, m: MergeStep, files: string[]): Promise<{ resolver?: TaskOutcome; commit?: string; reason?: string }> {
  if (ctx.budget.exhausted()) return { reason: "the list's budget is spent, so no claude was given the conflict" };
  const base = withDefaults(task, ctx.list);
  const spec: TaskSpec = {
    id: `${task.id}.merge`,
    index: task.index,
    title: `Resolve the merge conflict of task ${task.index}: ${task.title}`,
    method: "claude",
    prompt: resolverPrompt(m, ctx.state.tasks[task.id] as TaskOutcome | undefined, files),
    tools: [...new Set([...(base.tools ?? []), ...RESOLVER_TOOLS])],
    model: base.model,
  };
  const timeoutS = ctx.options.defaultTimeouts?.claude ?? DEFAULT_TIMEOUTS.claude;
  const cap = ctx.budget.capFor({ id: spec.id });
  const request: TaskRequest = {
    runId: ctx.runId,
    task: spec,
    prompt: spec.prompt,
    timeoutS,
    timeout: { timeout_s: timeoutS, basis: "default" },
    cwd: m.repo,
    env: { ...ctx.options.env, CC_EXECUTOR_RUN_ID: ctx.runId, CC_EXECUTOR_TASK_ID: spec.id, CC_EXECUTOR_TASK_INDEX: String(task.index), CC_EXECUTOR_STATE_FILE: ctx.journalPath },
    attempt: 1,
    executionId: newExecutionId(),
    ...(cap.maxCostUsd !== undefined || cap.maxTokens !== undefined ? { budget: cap } : {}),
  };
  const resolver = await runAttempt(ctx, spec, request, { cwd: m.repo }, { record: false, budgetKey: spec.id });
  reportEnd(ctx, resolver, resolver.status === "completed" ? undefined : { will_retry: false, policy: { action: "stop" } });
  const done = await withRepoLock(m.repo, () => concludeMerge(m.repo, m.branch, files, mergeMessage(m)));
  if (done.ok) return { resolver, commit: done.commit };
  return { resolver, reason: `the claude given the conflict did not resolve it (${resolver.status === "completed" ? done.reason : `${resolver.status}: ${resolver.message ?? ""}`})` };
}

/**
 * The merges after a parallel group: each isolated task's branch into the main tree, in task
 * order. A merge that cannot be made is a step of its own that failed: the merge is undone, the
 * branch and worktree are kept and named, and the task's failure policy decides whether the list
 * goes on. Returns true when the list must stop.
 */
export async function mergeGroup(ctx: RunContext, tasks: readonly TaskSpec[], onConflict: ConflictPolicy): Promise<boolean> {
  for (const task of tasks) {
    const m = ctx.state.merges?.[task.id];
    if (!m || mergeDone(m) || m.status === "kept") continue;
    if (ctx.canceled) return false; // the run stops anyway; the merge stays pending for resume
    const outcome = ctx.state.tasks[task.id];
    const policy = policyOf(task, ctx.list, ctx.options);
    if (!outcome || outcome.status === "running" || outcome.status !== "completed") {
      if (outcome && outcome.status !== "running" && settled(outcome, policy)) {
        // Failed under "continue": its partial work stays on its branch, unmerged.
        Object.assign(m, { status: "kept", message: keptMessage(m, `task ${m.index} did not complete (${outcome.status}), so its branch is not merged`, ctx.runId), ended_at: new Date().toISOString() });
        ctx.setMerge(m);
        ctx.emit({ type: "task.merge", run_id: ctx.runId, merge: { ...m }, stops: false });
      }
      continue; // not run, or will run again on resume: merged after it completes
    }
    const result = await withRepoLock(m.repo, async () => {
      const busy = await repoBusy(m.repo);
      if (busy) return { status: "failed" as const, message: busy };
      // Work the task left uncommitted (a run that died between the task's end and its commit).
      if (existsSync(m.worktree)) await commitAll(m.worktree, `${m.title}\n\nWork of task ${m.task_id} of cc-executor run ${ctx.runId}.`);
      // Whatever changed in the main tree meanwhile (direct tasks of the group, say) is kept in a commit first.
      await commitAll(m.repo, `cc-executor: changes in the main tree during the parallel group of task ${m.index} (run ${ctx.runId})`);
      return mergeBranch(m.repo, m.branch, mergeMessage(m));
    });
    let stops = false;
    if (result.status === "conflict") {
      m.conflicted_files = result.files;
      let resolved: Awaited<ReturnType<typeof resolveWithClaude>> | undefined;
      if (onConflict === "claude") {
        ctx.setMerge(m);
        resolved = await resolveWithClaude(ctx, task, m, result.files);
        if (resolved.resolver) m.resolver = resolved.resolver;
      }
      if (resolved?.commit) Object.assign(m, { status: "merged", commit: resolved.commit, message: `conflict in ${result.files.join(", ")} resolved by claude` });
      else {
        await withRepoLock(m.repo, () => abortMerge(m.repo));
        Object.assign(m, { status: "conflict", message: keptMessage(m, `merge conflict in ${result.files.join(", ")}${resolved?.reason ? ` (${resolved.reason})` : ""}`, ctx.runId) });
      }
    } else if (result.status === "failed") {
      Object.assign(m, { status: "failed", message: keptMessage(m, `the merge failed: ${result.message}`, ctx.runId) });
    } else {
      const unchanged = result.status === "empty" && (await branchTip(m.repo, m.branch)) === m.base;
      const empty = unchanged ? "nothing to merge: the task changed no file" : "already merged (the branch is part of the main tree)";
      Object.assign(m, { status: result.status, message: result.status === "empty" ? empty : undefined, ...(result.status === "merged" ? { commit: result.commit } : {}) });
    }
    m.ended_at = new Date().toISOString();
    if (mergeDone(m)) {
      const removed = await withRepoLock(m.repo, () => removeWorktree(m.repo, m.worktree, m.branch)).catch((err: Error) => {
        ctx.logger.warn({ err: err.message, worktree: m.worktree }, "cannot remove a merged task's worktree (cc-executor cleanup removes it later)");
        return undefined;
      });
      if (removed) Object.assign(m, { worktree_removed: true, branch_deleted: removed.branchDeleted });
    } else stops = policy.action !== "continue";
    ctx.setMerge(m);
    ctx.emit({ type: "task.merge", run_id: ctx.runId, merge: { ...m }, stops });
    if (stops) return true;
  }
  return false;
}
