import { randomUUID } from "node:crypto";
import type { HookWarning } from "../hooks/index.js";
import { startGuardedCommand } from "../doors/index.js";
import { SpawnError } from "../process/index.js";
import { AttachParams, ControlParams, ErrorCodes, ExecuteParams, Methods, Notifications, parseParams, RpcError } from "../protocol/index.js";
import { hookWarningParams, takeSlot, type ServerContext } from "./context.js";
import { refusalReason } from "../doors/policy.js";
import { openChannel, trackResumable } from "./resumable.js";
import { ccExecuteMethod } from "./claude-method.js";
import { runTaskListMethod } from "./task-list-method.js";
import { NO_ANSWER, Reply, type ActiveWork, type MethodHandler, type Session } from "./session.js";
import { streamProcess } from "./stream-process.js";
import { monitorSink } from "./monitor.js";
import { monitorMethods } from "./monitor-methods.js";
import { runFoldersFrom } from "../runs/index.js";
import { settingsMethod } from "./settings-method.js";

/** Environment variables of the server that a child must never see. */
const SECRET_ENV = ["CC_EXECUTOR_TOKEN"];

function execute(ctx: ServerContext): MethodHandler {
  return async (raw, session) => {
    const params = parseParams(ExecuteParams, raw);
    session.assertIdle();
    const executionId = randomUUID();
    const door = { hooks: ctx.hooks, history: ctx.history, estimateTimeouts: ctx.config.estimateTimeouts, refuseCommand: (c: string | readonly string[]) => refusalReason(ctx.policy, c), runs: runFoldersFrom(ctx.config, ctx.logger) };
    let guarded;
    try {
      guarded = await startGuardedCommand(door, {
        executionId,
        sessionId: session.id,
        command: params.command,
        cwd: params.cwd ?? undefined,
        env: params.env ?? undefined,
        // No `timeout` member: estimated from history (when enabled); an explicit null means none, as in the original.
        timeoutS: "timeout" in raw ? (params.timeout ?? null) : undefined,
        spawn: {
          removeEnv: SECRET_ENV,
          shell: params.shell ?? ctx.config.shell,
          inactivityTimeoutMs: (params.inactivity_timeout ?? ctx.config.streamTimeoutS) * 1000,
          killGraceMs: ctx.config.killGraceMs,
          maxBufferBytes: ctx.config.maxBufferSize,
          // The client gets every byte as process.output; nothing here reads a result tail.
          keepTail: false,
          registry: ctx.registry,
          logger: session.logger,
        },
        onWarning: (w: HookWarning) => session.notify(Notifications.hookWarning, hookWarningParams(w, { execution_id: executionId })),
        reserve: () => takeSlot(ctx.slots),
      });
    } catch (err) {
      if (err instanceof SpawnError) throw new RpcError(ErrorCodes.invalidParams, `Invalid params: ${err.message}`);
      throw err;
    }
    if ("refused" in guarded) throw new RpcError(ErrorCodes.commandNotAllowed, `Command not allowed: ${guarded.refused}`);
    const command = guarded.started;
    const { proc: started, text, timeoutS, estimate, release } = command;
    const channel = params.resumable ? openChannel(ctx, session, executionId, () => void started.cancel()) : undefined;
    const sink = monitorSink(ctx, session, channel ?? session, { executionId, kind: "command", label: text });
    const extra: Record<string, unknown> = {};
    if (channel) extra.resumable = true;
    if (estimate) extra.timeout_estimate = estimate;
    const stream = streamProcess(sink, started, { executionId, timeoutS, extra });
    const finished = stream.completed.finally(release);
    // History and post-execute hooks after the terminal notification; they never hold the session.
    void finished.then(async (done) => {
      const post = await command.finish(done);
      post.warningDetails.forEach((w) => sink.notify(Notifications.hookWarning, hookWarningParams(w, { execution_id: executionId })));
      if (post.rejected) sink.notify(Notifications.hookWarning, { execution_id: executionId, hook: post.rejected.hook, event: "post-execute", message: post.rejected.message });
    });
    const work: ActiveWork = {
      executionId,
      kind: "command",
      pause: () => started.pause(),
      resume: () => started.resume(),
      cancel: () => started.cancel(),
      finished,
      channel,
    };
    session.claim(work);
    if (channel) trackResumable(ctx, work, channel);
    session.logger.info({ executionId, pid: started.pid, command: started.command }, "process started");
    void finished.then((done) => session.logger.info({ executionId, status: done.status, exitCode: done.exit_code, signal: done.signal, durationMs: done.duration_ms }, "process ended"));
    return new Reply({ status: "started", pid: started.pid, pgid: started.pgid, execution_id: executionId }, stream.announce);
  };
}

function attach(ctx: ServerContext): MethodHandler {
  return async (raw, session) => {
    const params = parseParams(AttachParams, raw);
    session.assertIdle();
    const work = ctx.resumable.get(params.execution_id);
    if (!work?.channel) throw new RpcError(ErrorCodes.invalidParams, `Invalid params: execution_id: no resumable execution ${params.execution_id} (finished and expired, never resumable, or unknown)`);
    if (work.channel.attached) throw new RpcError(ErrorCodes.invalidParams, `Invalid params: execution_id: execution ${params.execution_id} is attached to another session`);
    const running = !work.channel.isFinished;
    if (running) session.claim(work);
    const replayed = await work.channel.attach(session, params.since_seq ?? 0);
    return { status: "attached", execution_id: work.executionId, running, replayed, last_seq: work.channel.lastSeq };
  };
}

function control(): MethodHandler {
  return async (raw, session: Session) => {
    const { type, execution_id: wanted } = parseParams(ControlParams, raw);
    const work = session.active;
    if (type === "INFO") return work ? { status: "running", execution_id: work.executionId, kind: work.kind } : { status: "idle" };
    if (!work) throw new RpcError(ErrorCodes.noProcess, "No process to control: nothing is running in this session");
    if (wanted !== undefined && wanted !== work.executionId) throw new RpcError(ErrorCodes.noProcess, `No process to control: execution ${wanted} is not this session's (it runs ${work.executionId})`);
    const base = { execution_id: work.executionId };
    switch (type) {
      case "PAUSE":
        if (!work.pause()) throw new RpcError(ErrorCodes.noProcess, "No process to pause: it is already paused or finishing");
        return { status: "paused", ...base };
      case "RESUME":
        if (!work.resume()) throw new RpcError(ErrorCodes.noProcess, "No process to resume: it is not paused");
        return { status: "resumed", ...base };
      case "CANCEL":
        void work.cancel();
        return { status: "canceled", ...base };
    }
  };
}

/** The method table. Later capabilities add their methods here, each a thin adapter over the core. */
export function buildMethods(ctx: ServerContext): Map<string, MethodHandler> {
  return new Map<string, MethodHandler>([
    [Methods.execute, execute(ctx)],
    [Methods.control, control()],
    // The original's heartbeat answer (it sent JSON "ping" notifications); accepted and, as there, not answered.
    [Methods.pong, () => NO_ANSWER],
    [Methods.hookStatus, () => ctx.hookStatus()],
    [Methods.attach, attach(ctx)],
    [Methods.ccExecute, ccExecuteMethod(ctx)],
    [Methods.runTaskList, runTaskListMethod(ctx)],
    [Methods.settings, settingsMethod(ctx)],
    ...monitorMethods(ctx),
  ]);
}
