import { join } from "node:path";
import { statePaths } from "../paths.js";
import type { ServerContext } from "./context.js";
import { ExecutionChannel } from "./execution-channel.js";
import type { ActiveWork, Session } from "./session.js";

/**
 * Who ends resumable work that nobody is attached to:
 * - "session": the session that starts it; when no client has come back within the grace period, it is canceled;
 * - "server": a detached run; it runs to its end whatever happens to connections, and only a
 *   cancel (control by an attached session, the dashboard) or the server's shutdown stops it.
 */
export type WorkOwner = "session" | "server";

/** A replay channel for resumable work; attached to the starting session unless the server owns the work. */
export function openChannel(ctx: ServerContext, session: Session, executionId: string, cancel: () => void, owner: WorkOwner = "session"): ExecutionChannel {
  const channel = new ExecutionChannel({
    executionId,
    ringBytes: ctx.config.replayBufferBytes,
    runDir: join(statePaths(ctx.config.home).runsDir, executionId),
    replayFileMaxBytes: ctx.config.replayFileMaxBytes,
    graceMs: ctx.config.resumeGraceS * 1000,
    logger: session.logger,
    onAbandoned: () => {
      if (!channel.isFinished) {
        if (owner === "server") return; // a watcher left; the run goes on and stays attachable
        session.logger.info({ executionId }, "no client came back within the grace period; canceling");
        cancel();
      }
      ctx.resumable.delete(executionId);
      channel.close();
    },
  });
  // From the channel's current number on: a resumed task list's file already holds its earlier sessions' notifications.
  if (owner === "session") void channel.attach(session, channel.lastSeq);
  return channel;
}

export function trackResumable(ctx: ServerContext, work: ActiveWork, channel: ExecutionChannel): void {
  ctx.resumable.set(work.executionId, work);
  void work.finished.finally(() => channel.markFinished());
}

/** The run folder of an execution or task-list run, as answered to a client that detaches. */
export function runDirOf(ctx: ServerContext, id: string): string {
  return join(statePaths(ctx.config.home).runsDir, id);
}
