import { execFile } from "node:child_process";

/** A git command that failed: its arguments, exit code and output, for messages. */
export class GitError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly code: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`git ${args.join(" ")} failed${code !== null ? ` (exit code ${code})` : ""}: ${(stderr || stdout).trim().split("\n").slice(-3).join(" / ") || "no output"}`);
    this.name = "GitError";
  }
}

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Longest a single git command may take (a merge of a large tree included). */
const GIT_TIMEOUT_MS = 120_000;

/**
 * Git as we run it: no prompts (a credential or editor prompt would hang a headless run), English
 * messages, and an identity of its own when the user has none configured (commits would fail).
 */
const GIT_ENV = { GIT_TERMINAL_PROMPT: "0", GIT_EDITOR: "true", GIT_MERGE_AUTOEDIT: "no", LC_ALL: "C", LANG: "C" };

/** Runs git in `cwd`; rejects with GitError on a non-zero exit unless `allowFail`. */
export function git(cwd: string, args: readonly string[], options: { allowFail?: boolean } = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    execFile("git", [...args], { cwd, env: { ...process.env, ...GIT_ENV }, timeout: GIT_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === "number" ? ((err as unknown as { code: number }).code) : null) : 0;
      if (err && (err as NodeJS.ErrnoException).code === "ENOENT") return reject(new GitError(args, null, "", "git is not installed (not found on PATH)"));
      if (err && (code === null || !options.allowFail)) return reject(new GitError(args, code, stdout, stderr));
      resolve({ code: code ?? 0, stdout, stderr });
    });
  });
}

/** `-c user.name/-c user.email` when the repository has no committer identity (a fresh machine, CI). */
export async function identityArgs(cwd: string): Promise<string[]> {
  const ident = await git(cwd, ["var", "GIT_COMMITTER_IDENT"], { allowFail: true }).catch(() => ({ code: 1 }));
  return ident.code === 0 ? [] : ["-c", "user.name=cc-executor", "-c", "user.email=cc-executor@localhost"];
}

/**
 * One git operation at a time per repository: worktree creation, commits and merges of parallel
 * tasks all touch the same .git (its refs, its worktree list), whose lock files make concurrent
 * commands fail rather than wait.
 */
class RepoLock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.tail.then(work, work);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

const locks = new Map<string, RepoLock>();

/** Runs `work` when no other git work of this process on the repository at `root` is running. */
export function withRepoLock<T>(root: string, work: () => Promise<T>): Promise<T> {
  let lock = locks.get(root);
  if (!lock) locks.set(root, (lock = new RepoLock()));
  return lock.run(work);
}
