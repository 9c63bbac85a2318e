import type { ClaudeTaskOptions, ClaudeTaskResult } from "../claude/index.js";
import type { Config } from "../config.js";
import { startGuardedClaude, type GuardedStart, type HookContext, type HookSet, type HookWarning } from "../hooks/index.js";
import { keepClaudeRecord, type RunFolders } from "../runs/index.js";
import { historyStatus, type ExecutionEnd, type HistoryRecorder } from "../store/index.js";
import type { TimeoutPlan } from "./timeout.js";

/** Server-wide defaults for claude tasks, from the configuration. */
export function claudeDefaults(config: Config): ClaudeTaskOptions {
  return {
    home: config.home,
    apiKeyMode: config.claudeApiKey,
    timeout: config.claudeTimeoutS,
    permissionMode: config.permissionMode,
    killGraceMs: config.killGraceMs,
    apiRetries: config.claudeApiRetries,
    ...(config.resumeSessions ? {} : { continueSessions: false }),
    retry: { maxAttempts: config.claudeMaxAttempts, baseDelayMs: config.claudeRetryDelayMs, waitOnLimit: config.waitOnLimit },
  };
}

/** The history record of a finished claude task. */
export function claudeHistoryEnd(r: ClaudeTaskResult): ExecutionEnd {
  return {
    status: r.success ? "completed" : historyStatus(r.error_type ?? "failed"),
    duration_ms: r.duration_ms,
    error_type: r.error_type,
    input_tokens: r.usage.input_tokens,
    output_tokens: r.usage.output_tokens,
    cost_usd: r.cost_usd,
    uuid_verified: r.uuid_verified,
    artifacts: { transcript: r.transcript_path, result: r.result_path },
  };
}

/**
 * One claude task as every door runs it: pre-claude hooks (refuse, rewrite the prompt, add env),
 * the task, its history record (started with the prompt as run and `timeout`, ended with the
 * final result) and post-claude hooks (which may mark it failed: hook_rejected). The task's
 * `result` settles after the end is recorded. `options.timeout` is the caller's to set (from `timeout`).
 */
export async function startRecordedClaude(
  door: { hooks: HookSet; history?: HistoryRecorder; runs?: RunFolders },
  prompt: string,
  options: ClaudeTaskOptions,
  context: Omit<HookContext, "event" | "prompt">,
  onWarning: (warning: HookWarning) => void,
  timeout: TimeoutPlan,
): Promise<GuardedStart> {
  const guarded = await startGuardedClaude(door.hooks, prompt, options, context, onWarning);
  if ("refused" in guarded) return guarded;
  const task = guarded.task;
  const id = task.executionId;
  door.history?.started({ id, kind: "claude", text: task.prompt, estimatorKind: "claude", sessionId: context.session_id, timeoutS: timeout.timeoutS ?? undefined, timeoutBasis: timeout.basis });
  keepClaudeRecord(door.runs, { executionId: id, text: task.prompt, cwd: options.cwd }, task.result);
  const result = task.result.then((r) => {
    door.history?.ended(id, claudeHistoryEnd(r));
    return r;
  });
  return { task: { ...task, result } };
}
