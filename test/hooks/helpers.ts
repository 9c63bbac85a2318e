import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { trustHooksFile } from "../../src/hooks/index.js";

/** A project directory and a state directory, each empty, in a fresh temp folder. */
export function sandbox() {
  const root = mkdtempSync(join(tmpdir(), "cce-hooks-"));
  const cwd = join(root, "project");
  const home = join(root, "home");
  mkdirSync(cwd);
  mkdirSync(home);
  return { root, cwd, home, projectFile: join(cwd, ".cc-executor", "hooks.json"), homeFile: join(home, "hooks.json") };
}

/** What the user does once per project hooks file: `cc-executor hooks trust` (project hooks never run untrusted). */
export function trustProject(s: { home: string; projectFile: string }): void {
  trustHooksFile(s.home, s.projectFile);
}

export function writeJson(file: string, value: unknown): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, typeof value === "string" ? value : JSON.stringify(value, null, 2));
  return file;
}

/** An executable /bin/sh script. */
export function writeScript(file: string, body: string): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

export function writeText(file: string, text: string): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}
