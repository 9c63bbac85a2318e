import { randomUUID } from "node:crypto";
import { startProcess, SpawnError } from "../process/index.js";
import { AttachParams, ControlParams, ErrorCodes, ExecuteParams, Methods, parseParams, RpcError } from "../protocol/index.js";
import type { ServerContext } from "./context.js";
import { refusalReason } from "./policy.js";
import { openChannel, trackResumable } from "./resumable.js";
import { ccExecuteMethod } from "./claude-method.js";
import { runTaskListMethod } from "./task-list-method.js";
import { Reply, type ActiveWork, type MethodHandler, type Session } from "./session.js";
import { streamProcess } from "./stream-process.js";

/** Environment variables of the server that a child must never see. */
const SECRET_ENV = ["CC_EXECUTOR_TOKEN"];

function execute(ctx: ServerContext): MethodHandler {
  return async (raw, session) => {
    const params = parseParams(ExecuteParams, raw);
    session.assertIdle();
    const refused = refusalReason(ctx.policy, params.command);
    if (refused) throw new RpcError(ErrorCodes.commandNotAllowed, `Command not allowed: ${refused}`);
    const release = ctx.slots.take();
    const executionId = randomUUID();
    const timeoutS = params.timeout ?? null;
    let proc;
    try {
      proc = await startProcess({
        command: params.command,
        cwd: params.cwd ?? undefined,
        env: params.env ?? undefined,
        removeEnv: SECRET_ENV,
        shell: params.shell ?? ctx.config.shell,
        timeoutMs: timeoutS === null ? undefined : timeoutS * 1000,
        inactivityTimeoutMs: (params.inactivity_timeout ?? ctx.config.streamTimeoutS) * 1000,
        killGraceMs: ctx.config.killGraceMs,
        maxBufferBytes: ctx.config.maxBufferSize,
        registry: ctx.registry,
        logger: session.logger,
      });
    } catch (err) {
      release();
      if (err instanceof SpawnError) throw new RpcError(ErrorCodes.invalidParams, `Invalid params: ${err.message}`);
      throw err;
    }
    const channel = params.resumable ? openChannel(ctx, session, executionId, () => void proc.cancel()) : undefined;
    const stream = streamProcess(channel ?? session, proc, { executionId, timeoutS, extra: channel ? { resumable: true } : undefined });
    const finished = stream.completed.finally(release);
    const work: ActiveWork = {
      executionId,
      kind: "command",
      pause: () => proc.pause(),
      resume: () => proc.resume(),
      cancel: () => proc.cancel(),
      finished,
      channel,
    };
    session.claim(work);
    if (channel) trackResumable(ctx, work, channel);
    session.logger.info({ executionId, pid: proc.pid, command: proc.command }, "process started");
    return new Reply({ status: "started", pid: proc.pid, pgid: proc.pgid, execution_id: executionId }, stream.announce);
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
    const { type } = parseParams(ControlParams, raw);
    const work = session.active;
    if (!work) throw new RpcError(ErrorCodes.noProcess, "No process to control: nothing is running in this session");
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
    [Methods.hookStatus, () => ctx.hookStatus()],
    [Methods.attach, attach(ctx)],
    [Methods.ccExecute, ccExecuteMethod(ctx)],
    [Methods.runTaskList, runTaskListMethod(ctx)],
  ]);
}
