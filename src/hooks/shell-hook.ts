import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "../logger.js";
import { startProcess, type GroupRegistry, type ShellPreference } from "../process/index.js";
import { checkAnswer, findAnswerObject, type HookRun } from "./answer.js";
import type { CommandHookSpec } from "./config.js";
import { CONTEXT_ENV_NAMES, contextEnv } from "./context-env.js";
import { isPreEvent, type HookContext } from "./events.js";

export interface ShellHookOptions {
  /** Working directory: the config file's folder, so "./check.sh" next to hooks.json works. */
  dir: string;
  shell?: ShellPreference;
  killGraceMs?: number;
  registry?: GroupRegistry;
  logger?: Logger;
}

/** Kept per stream; a hook's answer is one JSON object, anything bigger is a mistake. */
const OUTPUT_LIMIT = 1024 * 1024;
const MESSAGE_LIMIT = 2000;

/** Variables a hook has no business seeing: the server's own credentials. */
const HIDDEN_ENV = ["CC_EXECUTOR_TOKEN"];

/**
 * Runs one command hook under the supervisor (own process group, so a timeout kills everything the
 * hook started). startProcess gives children stdin at /dev/null, so the context JSON goes to a
 * private temp file (mode 0600) that the shell makes the hook's stdin with `exec <` before the
 * command runs; the file's path is also in CC_EXECUTOR_HOOK_CONTEXT_FILE.
 */
export async function runShellHook(hook: CommandHookSpec, context: HookContext, options: ShellHookOptions): Promise<HookRun> {
  const tmp = await mkdtemp(join(tmpdir(), "cc-executor-hook-"));
  const contextFile = join(tmp, "context.json");
  try {
    await writeFile(contextFile, JSON.stringify(context), { mode: 0o600 });
    const env = { ...contextEnv(context), CC_EXECUTOR_HOOK_CONTEXT_FILE: contextFile };
    const removeEnv = [...HIDDEN_ENV, ...CONTEXT_ENV_NAMES.filter((n) => !(n in env))];
    let proc;
    try {
      proc = await startProcess({
        // The newline (not ";") keeps a trailing comment or heredoc in the user's command intact.
        command: `exec <"$CC_EXECUTOR_HOOK_CONTEXT_FILE"\n${hook.command}`,
        cwd: options.dir,
        env,
        removeEnv,
        shell: options.shell,
        timeoutMs: hook.timeoutS * 1000,
        killGraceMs: options.killGraceMs ?? 2000,
        maxBufferBytes: OUTPUT_LIMIT,
        registry: options.registry,
        logger: options.logger,
      });
    } catch (err) {
      return { kind: "failed", message: `cannot start: ${(err as Error).message}` };
    }
    const result = await proc.done;
    const stderr = clip(result.stderr.trim());
    if (result.status === "timeout") return { kind: "failed", message: `timed out after ${hook.timeoutS}s; its process group was killed` };
    if (result.exitCode === 0) {
      const check = checkAnswer(findAnswerObject(result.stdout));
      return check.ok ? { kind: "answered", answer: check.answer } : { kind: "failed", message: check.message };
    }
    // Exit 2 means "no" on a pre-event, as with Claude Code's own hooks; stderr says why.
    if (result.exitCode === 2 && isPreEvent(context.event)) return { kind: "refused", message: stderr || "refused (exit code 2)" };
    const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
    return { kind: "failed", message: stderr ? `${how}: ${stderr}` : how };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function clip(text: string): string {
  return text.length > MESSAGE_LIMIT ? `${text.slice(0, MESSAGE_LIMIT)}…` : text;
}
