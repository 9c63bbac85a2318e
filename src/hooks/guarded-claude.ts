import { startClaudeTask, type ClaudeTaskEvent, type ClaudeTaskOptions, type ClaudeTaskResult } from "../claude/index.js";
import type { HookContext, HookOutcome, HookWarning } from "./events.js";
import type { HookSet } from "./hook-set.js";

/** A claude task between its pre-claude and post-claude hooks. */
export interface GuardedClaudeTask {
  readonly executionId: string;
  /** The final result: after post-claude hooks, which may have marked it failed. */
  readonly result: Promise<ClaudeTaskResult>;
  /** The prompt as run (a pre-claude hook may have changed it). */
  readonly prompt: string;
  cancel(): void;
  pause(): boolean;
  resume(): boolean;
}

export type GuardedStart = { refused: HookOutcome } | { task: GuardedClaudeTask };

/**
 * Starts a claude task with hooks around it: pre-claude may refuse, change the prompt or add
 * env; post-claude sees the result and, by answering proceed:false (e.g. the project's tests
 * fail), marks it failed with error_type "hook_rejected". The task's `completed` event is sent
 * only after post-claude, with the final result, so every door reports the same outcome.
 */
export async function startGuardedClaude(
  hooks: HookSet,
  prompt: string,
  options: ClaudeTaskOptions,
  context: Omit<HookContext, "event" | "prompt">,
  onWarning: (warning: HookWarning) => void,
): Promise<GuardedStart> {
  const pre = await hooks.run("pre-claude", { ...context, prompt, cwd: options.cwd, env: options.env });
  pre.warningDetails.forEach(onWarning);
  if (!pre.proceed) return { refused: pre };
  const finalPrompt = pre.prompt ?? prompt;
  const onEvent = options.onEvent;
  const task = startClaudeTask(finalPrompt, {
    ...options,
    env: pre.env ? { ...options.env, ...pre.env } : options.env,
    onEvent: (ev: ClaudeTaskEvent) => {
      if (ev.type !== "completed") onEvent?.(ev);
    },
  });
  const result = task.result.then(async (raw) => {
    const post = await hooks.run("post-claude", { ...context, execution_id: task.executionId, prompt: finalPrompt, cwd: options.cwd, result: raw });
    post.warningDetails.forEach(onWarning);
    const final: ClaudeTaskResult = post.rejected && raw.success ? { ...raw, success: false, error_type: "hook_rejected", message: `${post.rejected.hook}: ${post.rejected.message}` } : raw;
    onEvent?.({ type: "completed", result: final });
    return final;
  });
  return {
    task: {
      executionId: task.executionId,
      result,
      prompt: finalPrompt,
      cancel: () => void task.cancel(),
      pause: () => task.pause(),
      resume: () => task.resume(),
    },
  };
}
