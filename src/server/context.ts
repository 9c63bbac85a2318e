import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import type { HookSet, HookWarning } from "../hooks/index.js";
import type { GroupRegistry, ProcessSlots } from "../process/index.js";
import type { HistoryRecorder } from "../store/index.js";
import { ErrorCodes, RpcError } from "../protocol/index.js";
import type { CommandPolicy } from "../doors/policy.js";
import type { ActiveWork } from "./session.js";

/** A process slot for a request that must answer at once, or -32004 when all are taken. */
export function takeSlot(slots: ProcessSlots): () => void {
  const release = slots.tryTake();
  if (!release) throw new RpcError(ErrorCodes.processLimit, `Process limit reached: ${slots.max} processes are already running (CC_EXECUTOR_MAX_PROCESSES)`);
  return release;
}

/** What method handlers get besides their session: the server's shared services. */
export interface ServerContext {
  config: Config;
  logger: Logger;
  registry: GroupRegistry;
  /** CC_EXECUTOR_MAX_PROCESSES: one per running command, claude task, and running task of a list. */
  slots: ProcessSlots;
  policy: CommandPolicy | undefined;
  /** Resumable work by execution id, attached or not (see ExecutionChannel). */
  resumable: Map<string, ActiveWork>;
  /** Execution history, task-list runs and timeout estimates (SQLite, or Redis with REDIS_URL). */
  history: HistoryRecorder;
  /** hooks.json of the project the server started in, else of the state directory. */
  hooks: HookSet;
  /** Summary for hook_status. */
  hookStatus(): unknown;
}

/** A hook problem that did not stop the work, as the `hook.warning` notification. */
export function hookWarningParams(warning: HookWarning, ids: Record<string, unknown>): Record<string, unknown> {
  return { ...ids, hook: warning.hook, event: warning.event, message: warning.message };
}
