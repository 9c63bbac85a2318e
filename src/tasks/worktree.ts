import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { statePaths } from "../paths.js";
import { git, GitError, identityArgs } from "./git.js";

/**
 * Git plumbing of isolated parallel groups: each claude task of the group works in a worktree of
 * its own (`git worktree add`, under the state directory) on a branch of its own, made from the
 * main tree's HEAD; afterwards the branches are merged back into the main tree in task order.
 */

/** A directory inside a git repository: the repository's top level and the directory relative to it. */
export interface RepoPlace {
  root: string;
  subdir: string;
}

/** The repository `dir` is in, or undefined when it is in none. Throws GitError when git itself is missing. */
export async function findRepo(dir: string): Promise<RepoPlace | undefined> {
  const r = await git(dir, ["rev-parse", "--show-toplevel"], { allowFail: true });
  if (r.code !== 0) return undefined;
  const root = r.stdout.trim();
  return { root, subdir: relative(root, resolve(dir)) };
}

/** Why new work cannot start on the main tree now (a merge, rebase or cherry-pick in progress), or undefined. */
export async function repoBusy(root: string): Promise<string | undefined> {
  const r = await git(root, ["rev-parse", "--git-path", "MERGE_HEAD", "--git-path", "rebase-merge", "--git-path", "rebase-apply", "--git-path", "CHERRY_PICK_HEAD"]);
  const [merge, rebaseMerge, rebaseApply, pick] = r.stdout.trim().split("\n").map((p) => resolve(root, p));
  if (existsSync(merge!)) return "a merge is in progress in the main tree (finish it with git commit, or git merge --abort)";
  if (existsSync(rebaseMerge!) || existsSync(rebaseApply!)) return "a rebase is in progress in the main tree (git rebase --continue or --abort)";
  if (existsSync(pick!)) return "a cherry-pick is in progress in the main tree";
  return undefined;
}

export async function headCommit(dir: string): Promise<string | undefined> {
  const r = await git(dir, ["rev-parse", "--verify", "-q", "HEAD"], { allowFail: true });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** Name of the current branch, or undefined on a detached HEAD. */
export async function currentBranch(dir: string): Promise<string | undefined> {
  const r = await git(dir, ["symbolic-ref", "-q", "--short", "HEAD"], { allowFail: true });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/**
 * Commits everything in the tree (new files included, ignored files not) with `message`; returns
 * the new commit, or undefined when there was nothing to commit. Commit hooks are skipped: these
 * commits only keep work safe, they are not the user's commits.
 */
export async function commitAll(dir: string, message: string): Promise<string | undefined> {
  await git(dir, ["add", "-A"]);
  const staged = await git(dir, ["diff", "--cached", "--quiet"], { allowFail: true });
  if (staged.code === 0 && (await headCommit(dir)) !== undefined) return undefined;
  await git(dir, [...(await identityArgs(dir)), "commit", "--no-verify", "--allow-empty", "--allow-empty-message", "-m", message]);
  return headCommit(dir);
}

/** A ref component from a run or task id (ids allow `.` and `-`, which git refuses in some places). */
function refComponent(id: string): string {
  return id.replace(/^\./, "_").replace(/\.\./g, "._").replace(/\.lock$/, "_lock").replace(/\.$/, "_");
}

export function branchName(runId: string, taskId: string): string {
  return `cc-executor/${refComponent(runId)}/${refComponent(taskId)}`;
}

export function worktreePath(home: string, runId: string, taskId: string): string {
  return join(statePaths(home).worktreesDir, runId, taskId);
}

/** Paths of the worktrees the repository knows (its main tree first). */
export async function listWorktrees(root: string): Promise<string[]> {
  const r = await git(root, ["worktree", "list", "--porcelain"]);
  return r.stdout
    .split("\n")
    .filter((l) => l.startsWith("worktree "))
    .map((l) => resolve(l.slice("worktree ".length)));
}

async function branchExists(root: string, branch: string): Promise<boolean> {
  return (await git(root, ["rev-parse", "--verify", "-q", `refs/heads/${branch}`], { allowFail: true })).code === 0;
}

/**
 * The worktree of one task: reused when it is still there (a resumed run continues where the
 * task left off, in the directory its Claude session belongs to), made again from the task's
 * branch when only the branch survived, else a new branch from `base`.
 */
export async function openWorktree(root: string, spec: { branch: string; path: string; base: string }): Promise<"created" | "reused" | "restored"> {
  const path = resolve(spec.path);
  if ((await listWorktrees(root)).includes(path) && existsSync(join(path, ".git"))) return "reused";
  if (existsSync(path)) rmSync(path, { recursive: true, force: true }); // a leftover git no longer knows
  await git(root, ["worktree", "prune"]);
  // The state directory's folders are private to the user (git would make them with the umask's 755).
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (await branchExists(root, spec.branch)) {
    await git(root, ["worktree", "add", path, spec.branch]);
    return "restored";
  }
  await git(root, ["worktree", "add", "-b", spec.branch, path, spec.base]);
  return "created";
}

export type MergeResult =
  | { status: "merged"; commit: string }
  | { status: "empty" }
  | { status: "conflict"; files: string[] }
  | { status: "failed"; message: string };

async function unmergedFiles(root: string): Promise<string[]> {
  const r = await git(root, ["diff", "--name-only", "--diff-filter=U"]);
  return r.stdout.split("\n").filter(Boolean);
}

async function mergeInProgress(root: string): Promise<boolean> {
  return (await git(root, ["rev-parse", "-q", "--verify", "MERGE_HEAD"], { allowFail: true })).code === 0;
}

/** The commit a branch points at, or undefined when there is no such branch. */
export async function branchTip(root: string, branch: string): Promise<string | undefined> {
  const r = await git(root, ["rev-parse", "--verify", "-q", `refs/heads/${branch}`], { allowFail: true });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** Whether every commit of `branch` is already in HEAD. */
export async function isMerged(root: string, branch: string): Promise<boolean> {
  return (await git(root, ["merge-base", "--is-ancestor", `refs/heads/${branch}`, "HEAD"], { allowFail: true })).code === 0;
}

/**
 * Merges `branch` into the main tree's HEAD with a merge commit. A conflict leaves the merge in
 * progress (for a resolver, or abortMerge); any other failure leaves the tree as it was.
 */
export async function mergeBranch(root: string, branch: string, message: string): Promise<MergeResult> {
  if (await isMerged(root, branch)) return { status: "empty" };
  const r = await git(root, [...(await identityArgs(root)), "merge", "--no-ff", "--no-verify", "-m", message, `refs/heads/${branch}`], { allowFail: true });
  if (r.code === 0) return { status: "merged", commit: (await headCommit(root))! };
  const files = await unmergedFiles(root);
  if (files.length > 0) return { status: "conflict", files };
  if (await mergeInProgress(root)) await abortMerge(root);
  return { status: "failed", message: new GitError(["merge", branch], r.code, r.stdout, r.stderr).message };
}

export async function abortMerge(root: string): Promise<void> {
  if (await mergeInProgress(root)) await git(root, ["merge", "--abort"]);
}

const CONFLICT_MARKER = /^(<{7}|>{7})( |$)/m;

/**
 * After a resolver worked on a conflicted merge: the merge is done when no file is unmerged and
 * no conflicted file still holds conflict markers; it is then committed (if the resolver did not)
 * and the branch must be part of HEAD. Otherwise the reason, and the merge is left as it is.
 */
export async function concludeMerge(root: string, branch: string, files: readonly string[], message: string): Promise<{ ok: true; commit: string } | { ok: false; reason: string }> {
  const still = await unmergedFiles(root);
  if (still.length > 0) return { ok: false, reason: `still unmerged: ${still.join(", ")}` };
  const marked = files.filter((f) => {
    try {
      return CONFLICT_MARKER.test(readFileSync(join(root, f), "utf8"));
    } catch {
      return false; // deleted as part of the resolution
    }
  });
  if (marked.length > 0) return { ok: false, reason: `conflict markers left in ${marked.join(", ")}` };
  if (await mergeInProgress(root)) {
    await git(root, ["add", "-A"]);
    await git(root, [...(await identityArgs(root)), "commit", "--no-verify", "-m", message]);
  }
  if (!(await isMerged(root, branch))) return { ok: false, reason: `the branch ${branch} is not part of HEAD after the resolution` };
  return { ok: true, commit: (await headCommit(root))! };
}

/** Removes a task's worktree and, when it is merged, its branch (an unmerged branch is never deleted). */
export async function removeWorktree(root: string, path: string, branch?: string): Promise<{ branchDeleted: boolean }> {
  if ((await listWorktrees(root)).includes(resolve(path))) await git(root, ["worktree", "remove", "--force", path]);
  else rmSync(path, { recursive: true, force: true });
  await git(root, ["worktree", "prune"]);
  if (!branch || !(await branchExists(root, branch)) || !(await isMerged(root, branch))) return { branchDeleted: false };
  await git(root, ["branch", "-D", branch]);
  return { branchDeleted: true };
}

/** The main tree of the repository a worktree belongs to (from its .git file), or undefined. */
export async function mainTreeOf(worktree: string): Promise<string | undefined> {
  const r = await git(worktree, ["rev-parse", "--path-format=absolute", "--git-common-dir"], { allowFail: true });
  if (r.code !== 0) return undefined;
  const common = r.stdout.trim();
  return common.endsWith("/.git") ? common.slice(0, -"/.git".length) : undefined;
}
