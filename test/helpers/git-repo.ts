import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ID = ["-c", "user.name=Test", "-c", "user.email=test@example.com"];

/** Runs git in `dir` and returns its stdout (throws on failure). */
export function gitIn(dir: string, ...args: string[]): string {
  return execFileSync("git", [...ID, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, GIT_TERMINAL_PROMPT: "0", LC_ALL: "C" } });
}

/** A fresh repository on branch main with one commit holding `files`. */
export function gitRepo(files: Record<string, string> = { "README.md": "# project\n" }): string {
  const dir = mkdtempSync(join(tmpdir(), "cce-repo-"));
  gitIn(dir, "init", "-q", "-b", "main");
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  gitIn(dir, "add", "-A");
  gitIn(dir, "commit", "-q", "-m", "initial");
  return dir;
}

export function branches(dir: string): string[] {
  return gitIn(dir, "branch", "--format=%(refname:short)").split("\n").filter(Boolean);
}

export function worktrees(dir: string): string[] {
  return gitIn(dir, "worktree", "list", "--porcelain").split("\n").filter((l) => l.startsWith("worktree ")).map((l) => l.slice(9));
}

/** `git status --porcelain`: empty when the tree is clean. */
export function status(dir: string): string {
  return gitIn(dir, "status", "--porcelain");
}
