import type { Config } from "../config.js";
import type { HookSet } from "../hooks/index.js";
import type { Logger } from "../logger.js";
import type { GroupRegistry, ProcessSlots } from "../process/index.js";
import type { HistoryRecorder } from "../store/index.js";
import type { LocalExecutorOptions, TaskListOptions } from "../tasks/index.js";
import { runFoldersFrom } from "../runs/index.js";
import { claudeDefaults } from "./claude.js";

/**
 * What the runner itself takes from the configuration, wherever its tasks run: default timeouts,
 * the hooks, the history (recording and estimates, unless estimates are turned off).
 */
export function taskListRunServices(
  config: Config,
  services: { hooks: HookSet; history?: HistoryRecorder },
): Pick<TaskListOptions, "defaultTimeouts" | "hooks" | "history" | "estimateTimeout" | "resumeSessions"> {
  return {
    defaultTimeouts: { claude: config.claudeTimeoutS, direct: config.commandTimeoutS },
    hooks: services.hooks,
    history: services.history,
    ...(config.estimateTimeouts ? {} : { estimateTimeout: async () => undefined }),
    ...(config.resumeSessions ? {} : { resumeSessions: false }),
  };
}

/**
 * The options every door gives a task list run on this machine: the runner's services and a local
 * executor with the claude defaults and the command policy. (pre-task-list is the door's: checkPreTaskList.)
 */
export function taskListServices(
  config: Config,
  services: {
    hooks: HookSet;
    history?: HistoryRecorder;
    refuseCommand?: (command: string) => string | undefined;
    registry: GroupRegistry;
    /** CC_EXECUTOR_MAX_PROCESSES: each running task takes one. */
    slots?: ProcessSlots;
    logger?: Logger;
    /** More options of the local executor (e.g. flow control). */
    local?: Partial<LocalExecutorOptions>;
  },
): Pick<TaskListOptions, "defaultTimeouts" | "hooks" | "history" | "estimateTimeout" | "resumeSessions" | "local"> {
  const logger = services.logger ? { logger: services.logger } : {};
  return {
    ...taskListRunServices(config, services),
    local: {
      claude: { ...claudeDefaults(config), registry: services.registry, ...logger },
      refuseCommand: services.refuseCommand,
      shell: config.shell,
      killGraceMs: config.killGraceMs,
      maxBufferBytes: config.maxBufferSize,
      registry: services.registry,
      slots: services.slots,
      runs: runFoldersFrom(config, services.logger),
      ...logger,
      ...services.local,
    },
  };
}
