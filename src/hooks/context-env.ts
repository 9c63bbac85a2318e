import type { HookContext } from "./events.js";

/**
 * The context as CC_EXECUTOR_* environment variables, for shell hooks that do not want to parse
 * JSON. Long values are cut (at a UTF-8 character boundary) because the kernel refuses a single
 * variable over 128 KiB and would fail the spawn; the JSON on stdin always has the full text.
 */
export const PROMPT_ENV_LIMIT = 4 * 1024;
export const COMMAND_ENV_LIMIT = 64 * 1024;

/** Every variable this module may set: those the context does not fill are removed from the hook's env, so a stale inherited value never passes for the current one. */
export const CONTEXT_ENV_NAMES = [
  "CC_EXECUTOR_EVENT",
  "CC_EXECUTOR_EXECUTION_ID",
  "CC_EXECUTOR_SESSION_ID",
  "CC_EXECUTOR_COMMAND",
  "CC_EXECUTOR_PROMPT",
  "CC_EXECUTOR_CWD",
  "CC_EXECUTOR_TASK_ID",
  "CC_EXECUTOR_EXIT_CODE",
  "CC_EXECUTOR_STATUS",
] as const;

export function contextEnv(context: HookContext): Record<string, string> {
  const env: Record<string, string> = { CC_EXECUTOR_EVENT: context.event };
  const set = (name: string, value: unknown, limit = COMMAND_ENV_LIMIT) => {
    if (value === undefined || value === null) return;
    env[name] = truncateUtf8(String(value).replace(/\0/g, ""), limit);
  };
  set("CC_EXECUTOR_EXECUTION_ID", context.execution_id);
  set("CC_EXECUTOR_SESSION_ID", context.session_id);
  set("CC_EXECUTOR_COMMAND", context.command);
  set("CC_EXECUTOR_PROMPT", context.prompt, PROMPT_ENV_LIMIT);
  set("CC_EXECUTOR_CWD", context.cwd);
  const task = context.task as { id?: unknown } | undefined;
  if (typeof task?.id === "string" || typeof task?.id === "number") set("CC_EXECUTOR_TASK_ID", task.id);
  // Runners speak either snake_case (wire/outcome objects) or camelCase (ProcessResult).
  const result = context.result as { exit_code?: unknown; exitCode?: unknown; status?: unknown } | undefined;
  if (result) {
    const code = result.exit_code ?? result.exitCode;
    if (typeof code === "number") set("CC_EXECUTOR_EXIT_CODE", code);
    if (typeof result.status === "string") set("CC_EXECUTOR_STATUS", result.status);
  }
  return env;
}

/** At most `limit` bytes of UTF-8, never splitting a character. */
export function truncateUtf8(text: string, limit: number): string {
  const buf = Buffer.from(text, "utf8");
  if (buf.length <= limit) return text;
  let end = limit;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--; // back off continuation bytes
  return buf.subarray(0, end).toString("utf8");
}
