import { join } from "node:path";
import { statePaths } from "../paths.js";
import type { ServerContext } from "./context.js";
import { ExecutionChannel } from "./execution-channel.js";
import type { ActiveWork, Session } from "./session.js";

/** A replay channel for resumable work, attached to the session that starts it. */
export function openChannel(ctx: ServerContext, session: Session, executionId: string, cancel: () => void): ExecutionChannel {
  const channel = new ExecutionChannel({
    executionId,
    ringBytes: ctx.config.replayBufferBytes,
    runDir: join(statePaths(ctx.config.home).runsDir, executionId),
    replayFileMaxBytes: ctx.config.replayFileMaxBytes,
    graceMs: ctx.config.resumeGraceS * 1000,
    logger: session.logger,
    onAbandoned: () => {
      if (!channel.isFinished) {
        session.logger.info({ executionId }, "no client came back within the grace period; canceling");
        cancel();
      }
      ctx.resumable.delete(executionId);
      channel.close();
    },
  });
  void channel.attach(session, 0);
  return channel;
}

export function trackResumable(ctx: ServerContext, work: ActiveWork, channel: ExecutionChannel): void {
  ctx.resumable.set(work.executionId, work);
  void work.finished.finally(() => channel.markFinished());
}

