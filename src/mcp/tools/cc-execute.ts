import { randomUUID } from "node:crypto";
import { claudeDefaults, planTimeout, startRecordedClaude } from "../../doors/index.js";
import type { HookWarning } from "../../hooks/index.js";
import { budgetFromLimits, parseToolList } from "../../tasks/index.js";
import { formatDuration } from "../../units.js";
import { HEARTBEAT_MS } from "../progress.js";
import { claudeEventMessage, hookWarningMessage } from "../progress-messages.js";
import type { ToolDefinition } from "../tool-calls.js";
import type { ToolContext } from "../tool-context.js";
import { errorResult, jsonResult } from "../tool-results.js";
import { CcExecuteArgs } from "../tool-schemas.js";

/** cc_execute: one claude task, through the same door as the WebSocket server's cc_execute (hooks, history, timeout estimate). */
export function ccExecuteTool(ctx: ToolContext): ToolDefinition<typeof CcExecuteArgs> {
  const { config, logger } = ctx;
  return {
    name: "cc_execute",
    title: "Run one Claude Code task",
    description:
      "Runs one Claude Code task headless in a fresh `claude -p` process and blocks until it has finished. " +
      "The answer is verified with an execution UUID; rate limits and overloads are retried. " +
      "Returns the same JSON object as `cc-executor claude --json` (success, result, summary, files_created, files_modified, error_type, message, usage, cost_usd, duration_ms, transcript_path, ...). " +
      "isError is set when success is false.",
    inputSchema: CcExecuteArgs,
    annotations: { destructiveHint: true, openWorldHint: true },
    slots: "hold",
    async run(a, { progress, onCancel }) {
      const cwd = ctx.directory(a.cwd);
      const door = await ctx.doorServices();
      const defaults = { ...claudeDefaults(config), registry: ctx.registry, logger };
      const executionId = randomUUID();
      const timeout = await planTimeout(door, a.prompt, "claude", a.timeout, defaults.timeout);
      // cc_execute's progress has no total: each sign of life is the next whole number.
      let ticks = 0;
      const warnings: HookWarning[] = [];
      const warn = (w: HookWarning) => {
        warnings.push(w);
        logger.warn({ executionId, hook: w.hook, event: w.event }, w.message);
        progress.send(++ticks, undefined, hookWarningMessage(w));
      };
      const startedAt = Date.now();
      const guarded = await startRecordedClaude(
        door,
        a.prompt,
        {
          ...defaults,
          executionId,
          json: a.json ?? false,
          timeout: timeout.timeoutS ?? undefined,
          model: a.model,
          tools: parseToolList(a.tools),
          cwd,
          ...budgetFromLimits(a.max_cost, a.max_tokens),
          ...(a.resume_session === false ? { continueSessions: false } : {}),
          onEvent: (ev) => {
            const message = claudeEventMessage(ev);
            if (message) progress.send(++ticks, undefined, message);
          },
        },
        { execution_id: executionId, session_id: ctx.sessionId },
        warn,
        timeout,
      );
      if ("refused" in guarded) return errorResult(`Task not allowed: ${guarded.refused.message ?? "refused by a pre-claude hook"}`);
      const task = guarded.task;
      onCancel(() => task.cancel());
      progress.heartbeat(HEARTBEAT_MS, () => progress.send(++ticks, undefined, `working for ${formatDuration(Date.now() - startedAt)}`));
      logger.info({ executionId, cwd }, "mcp: cc_execute started");
      const result = await task.result.finally(() => progress.stop());
      logger.info({ executionId, success: result.success, error_type: result.error_type }, "mcp: cc_execute finished");
      const extras = { ...(timeout.estimate ? { timeout_estimate: timeout.estimate } : {}), ...(warnings.length ? { hook_warnings: warnings } : {}) };
      return jsonResult({ ...result, ...extras }, !result.success);
    },
  };
}
