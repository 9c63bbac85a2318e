import { randomUUID } from "node:crypto";
import type { ClaudeTaskEvent, ClaudeTaskOptions } from "../claude/index.js";
import type { HookWarning } from "../hooks/index.js";
import type { StreamEvent } from "../claude/index.js";
import { claudeDefaults, planTimeout, startRecordedClaude } from "../doors/index.js";
import { CcExecuteParams, ErrorCodes, Notifications, parseParams, RpcError } from "../protocol/index.js";
import { hookWarningParams, takeSlot, type ServerContext } from "./context.js";
import { monitorSink } from "./monitor.js";
import { openChannel, runDirOf, trackResumable } from "./resumable.js";
import type { ActiveWork, MethodHandler } from "./session.js";
import type { NotificationSink } from "./sink.js";
import { streamProcessEvents } from "./stream-process.js";
import { runFoldersFrom } from "../runs/index.js";
import { claudeBinRefusal } from "../doors/policy.js";

/** A typed stream event without the raw JSON (which already went out as process.output). */
function lightEvent(ev: StreamEvent): Record<string, unknown> {
  const { raw: _raw, ...rest } = ev as StreamEvent & { raw?: unknown };
  return rest;
}

/** Turns claude task events into notifications (the same events the CLI and the TS API see). */
export function claudeEventsToSink(sink: NotificationSink, executionId: string, startedExtra: Record<string, unknown> = {}): (ev: ClaudeTaskEvent) => void {
  const process = streamProcessEvents(sink, executionId);
  return (ev) => {
    switch (ev.type) {
      case "attempt_started":
        process.started({ pid: ev.pid, pgid: ev.pgid, command: "claude " + ev.argv.slice(0, -1).join(" ") + " <prompt>", timeout: null, attempt: ev.attempt, ...startedExtra });
        break;
      case "output":
        process.output(ev.chunk);
        break;
      case "attempt_ended":
        process.completed(ev.process, { attempt: ev.attempt });
        break;
      case "stream":
        if (ev.event.kind !== "noise") sink.notify(Notifications.claudeEvent, { execution_id: executionId, attempt: ev.attempt, event: lightEvent(ev.event) });
        break;
      case "error": {
        const f = ev.failure;
        const payload = { execution_id: executionId, attempt: ev.attempt, error_type: f.error_type, message: f.message, recoverable: f.recoverable, reset_timestamp: f.reset_timestamp, retry_after: f.retry_after };
        if (f.error_type === "output_token_limit" || f.error_type === "prompt_too_long") sink.notify(Notifications.tokenLimitExceeded, payload);
        else if (f.error_type === "rate_limit" || f.error_type === "overloaded" || f.error_type === "usage_limit") sink.notify(Notifications.rateLimitExceeded, payload);
        else sink.notify(Notifications.claudeEvent, { execution_id: executionId, attempt: ev.attempt, event: { kind: "error", ...payload } });
        break;
      }
      case "retry":
        sink.notify(Notifications.claudeRetry, { execution_id: executionId, attempt: ev.attempt, delay_ms: ev.delayMs, reason: ev.reason });
        break;
      case "session":
        sink.notify(Notifications.claudeSession, { execution_id: executionId, attempt: ev.attempt, session_id: ev.sessionId, reason: ev.reason, resumed: ev.resumed, ...(ev.fallback ? { fallback: ev.fallback } : {}) });
        break;
      case "waiting_for_limit":
        sink.notify(Notifications.claudeWaiting, { execution_id: executionId, until: new Date(ev.untilEpochMs).toISOString(), until_epoch_ms: ev.untilEpochMs, reason: ev.reason });
        break;
      case "completed":
        sink.notify(Notifications.claudeCompleted, { execution_id: executionId, result: ev.result });
        break;
    }
  };
}

export function ccExecuteMethod(ctx: ServerContext): MethodHandler {
  return async (raw, session) => {
    const p = parseParams(CcExecuteParams, raw);
    const binRefused = claudeBinRefusal(ctx.policy, p.env);
    if (binRefused) throw new RpcError(ErrorCodes.commandNotAllowed, `Command not allowed: ${binRefused}`);
    const detach = p.detach ?? false;
    // A detached run is the server's, not this session's: the session stays free for other work.
    if (!detach) session.assertIdle();
    const executionId = randomUUID();
    const defaults = claudeDefaults(ctx.config);
    const timeout = await planTimeout({ history: ctx.history, estimateTimeouts: ctx.config.estimateTimeouts }, p.prompt, "claude", p.timeout ?? undefined, defaults.timeout);
    const { estimate } = timeout;
    const timeoutS = timeout.timeoutS ?? undefined;
    const resumable = detach || (p.resumable ?? true);
    const release = takeSlot(ctx.slots);
    let cancel = () => {};
    const channel = resumable ? openChannel(ctx, session, executionId, () => cancel(), detach ? "server" : "session") : undefined;
    const sink: NotificationSink = monitorSink(ctx, session, channel ?? session, { executionId, kind: "claude", label: p.prompt });
    const options: ClaudeTaskOptions = {
      ...defaults,
      executionId,
      json: p.json ?? false,
      timeout: timeoutS,
      model: p.model ?? undefined,
      maxTurns: p.max_turns ?? undefined,
      tools: p.tools ?? undefined,
      disallowedTools: p.disallowed_tools ?? undefined,
      appendSystemPrompt: p.append_system_prompt ?? undefined,
      mcpConfig: p.mcp_config ?? undefined,
      permissionMode: p.permission_mode ?? defaults.permissionMode,
      cwd: p.cwd ?? undefined,
      env: p.env ?? undefined,
      uuid: p.uuid ?? true,
      retry: { ...defaults.retry, ...(p.wait_on_limit != null ? { waitOnLimit: p.wait_on_limit } : {}), ...(p.max_attempts != null ? { maxAttempts: p.max_attempts } : {}) },
      ...(p.max_cost != null ? { maxCostUsd: p.max_cost } : {}),
      ...(p.max_tokens != null ? { maxTokens: p.max_tokens } : {}),
      ...(p.resume_session === false ? { continueSessions: false } : {}),
      registry: ctx.registry,
      logger: session.logger,
      onEvent: claudeEventsToSink(sink, executionId, { timeout: timeoutS ?? null, ...(estimate ? { timeout_estimate: estimate } : {}) }),
      flow: sink,
    };
    const warn = (w: HookWarning) => sink.notify(Notifications.hookWarning, hookWarningParams(w, { execution_id: executionId }));
    const guarded = await startRecordedClaude({ hooks: ctx.hooks, history: ctx.history, runs: runFoldersFrom(ctx.config, ctx.logger) }, p.prompt, options, { execution_id: executionId, session_id: session.id }, warn, timeout).catch((err: unknown) => {
      release();
      channel?.close();
      throw err;
    });
    if ("refused" in guarded) {
      release();
      channel?.close();
      throw new RpcError(ErrorCodes.commandNotAllowed, `Task not allowed: ${guarded.refused.message ?? "refused by a pre-claude hook"}`);
    }
    const task = guarded.task;
    cancel = () => task.cancel();
    const finished = task.result.finally(release);
    const work: ActiveWork = {
      executionId,
      kind: "claude",
      pause: () => task.pause(),
      resume: () => task.resume(),
      cancel: async () => task.cancel(),
      finished,
      channel,
    };
    if (!detach) session.claim(work);
    if (channel) trackResumable(ctx, work, channel);
    session.logger.info({ executionId, detach }, "claude task started");
    void finished.then((r) => session.logger.info({ executionId, success: r.success, errorType: r.error_type, attempts: r.attempts, durationMs: r.duration_ms }, "claude task ended"));
    const detached = detach ? { detached: true, run_dir: runDirOf(ctx, executionId) } : {};
    return { status: "started", execution_id: executionId, resumable, ...detached, ...(estimate ? { timeout_estimate: estimate } : {}) };
  };
}
