import { randomUUID } from "node:crypto";
import { startGuardedCommand, type GuardedCommandStart } from "../../doors/index.js";
import type { HookWarning } from "../../hooks/index.js";
import { SpawnError } from "../../process/index.js";
import { processCompletedParams } from "../../protocol/index.js";
import { formatDuration } from "../../units.js";
import { HEARTBEAT_MS } from "../progress.js";
import type { ToolDefinition } from "../tool-calls.js";
import type { ToolContext } from "../tool-context.js";
import { errorResult, jsonResult } from "../tool-results.js";
import { ExecuteCommandArgs } from "../tool-schemas.js";

/** Bytes of stdout and of stderr kept for an execute_command result (the tail: a tool result lands in a model's context). */
export const COMMAND_OUTPUT_TAIL_BYTES = 16 * 1024;

/** execute_command: one shell command, through the same door as the WebSocket server's execute (policy, hooks, history, timeout estimate). */
export function executeCommandTool(ctx: ToolContext): ToolDefinition<typeof ExecuteCommandArgs> {
  const { config, logger } = ctx;
  return {
    name: "execute_command",
    title: "Run one shell command",
    description:
      "Runs one shell command in its own process group and blocks until it has finished. " +
      `Returns {success, status, exit_code, signal, stdout, stderr, duration_ms, ...}; stdout and stderr are the last ${COMMAND_OUTPUT_TAIL_BYTES / 1024} KiB of each (truncated says whether older output was dropped). ` +
      'status is "completed" (exit 0), "failed", "timeout" or "canceled"; isError is set unless the command exited 0. ' +
      "The command policy and the project's pre-execute hooks may refuse (an error result saying why) or rewrite the command.",
    inputSchema: ExecuteCommandArgs,
    annotations: { destructiveHint: true, openWorldHint: true },
    slots: "hold",
    async run(a, { progress, onCancel }) {
      const cwd = ctx.directory(a.cwd);
      const door = await ctx.doorServices();
      const executionId = randomUUID();
      const warnings: HookWarning[] = [];
      const warn = (w: HookWarning) => {
        warnings.push(w);
        logger.warn({ executionId, hook: w.hook, event: w.event }, w.message);
      };
      let guarded: GuardedCommandStart;
      try {
        guarded = await startGuardedCommand(door, {
          executionId,
          sessionId: ctx.sessionId,
          command: a.command,
          cwd,
          timeoutS: a.timeout,
          spawn: {
            removeEnv: ["CC_EXECUTOR_TOKEN"],
            shell: config.shell,
            inactivityTimeoutMs: config.streamTimeoutS * 1000,
            killGraceMs: config.killGraceMs,
            maxBufferBytes: Math.min(COMMAND_OUTPUT_TAIL_BYTES, config.maxBufferSize),
            registry: ctx.registry,
            logger,
          },
          onWarning: warn,
        });
      } catch (err) {
        if (err instanceof SpawnError) return errorResult(`Cannot start the command: ${err.message}`);
        throw err;
      }
      if ("refused" in guarded) return errorResult(`Command not allowed: ${guarded.refused}`);
      const cmd = guarded.started;
      const proc = cmd.proc;
      // The end is recorded as soon as the process is done (before shutdown closes the store); post-execute hooks follow.
      const finished = proc.done.then((r) => ({ r, post: cmd.finish(processCompletedParams(executionId, { ...r, pid: proc.pid, pgid: proc.pgid })) }));
      onCancel(() => void proc.cancel());
      progress.send(0, undefined, `started (pid ${proc.pid})`);
      // No total: progress is the seconds the command has run.
      progress.heartbeat(HEARTBEAT_MS, () => progress.send((Date.now() - proc.startedAt) / 1000, undefined, `running for ${formatDuration(Date.now() - proc.startedAt)}`));
      logger.info({ executionId, pid: proc.pid, command: proc.command, cwd }, "mcp: execute_command started");
      const { r, post } = await finished.finally(() => progress.stop());
      logger.info({ executionId, pid: proc.pid, status: r.status, exitCode: r.exitCode }, "mcp: execute_command finished");
      const after = await post;
      after.warningDetails.forEach(warn);
      // As in the server: a post-execute hook cannot undo a command, so its "no" is a warning.
      if (after.rejected) warn({ hook: after.rejected.hook, event: "post-execute", message: after.rejected.message });
      const value = {
        success: r.status === "completed",
        status: r.status,
        exit_code: r.exitCode,
        signal: r.signal,
        stdout: r.stdout,
        stderr: r.stderr,
        stdout_bytes: r.stdoutBytes,
        stderr_bytes: r.stderrBytes,
        truncated: r.truncated,
        duration_ms: r.durationMs,
        timeout_s: cmd.timeoutS,
        ...(cmd.estimate ? { timeout_estimate: cmd.estimate } : {}),
        ...(r.timeoutReason ? { timeout_reason: r.timeoutReason } : {}),
        pid: proc.pid,
        command: proc.command,
        cwd,
        execution_id: executionId,
        ...(warnings.length ? { hook_warnings: warnings } : {}),
      };
      return jsonResult(value, !value.success);
    },
  };
}
