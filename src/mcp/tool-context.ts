import { randomUUID } from "node:crypto";
import { statSync } from "node:fs";
import { resolve } from "node:path";
import type { Config } from "../config.js";
import { compilePolicy, refusalReason, type DoorServices } from "../doors/index.js";
import type { Logger } from "../logger.js";
import { ProcessSlots, type GroupRegistry } from "../process/index.js";
import { runFoldersFrom } from "../runs/index.js";
import type { Store } from "../store/index.js";
import { LazyHistory } from "./lazy-history.js";
import { ProjectHooks } from "./project-hooks.js";
import { ArgumentError } from "./tool-results.js";

/** What every tool of one MCP server works with. */
export interface ToolContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly registry: GroupRegistry;
  /** CC_EXECUTOR_MAX_PROCESSES: a slot per running command or claude task, and per running task of a list. */
  readonly slots: ProcessSlots;
  /** Hook context and history records name this MCP server as their session. */
  readonly sessionId: string;
  /** The command policy (CC_EXECUTOR_ALLOW / CC_EXECUTOR_DENY): why a command is refused, or undefined. */
  readonly refuseCommand: (command: string | readonly string[]) => string | undefined;
  readonly hooks: ProjectHooks;
  readonly history: LazyHistory;
  /** What a call that runs work goes through (hooks, history, policy, run folders); UnavailableError while the hooks file is invalid. */
  doorServices(): Promise<DoorServices>;
  /** A `cwd` argument as an existing directory, relative to the server's; ArgumentError naming `field` otherwise. */
  directory(cwd: string | undefined, field?: string): string;
}

export function createToolContext(options: { config: Config; logger: Logger; registry: GroupRegistry; baseDir: string; store?: Store }): ToolContext {
  const { config, logger, registry, baseDir } = options;
  const policy = compilePolicy(config.allowCommands, config.denyCommands);
  const refuseCommand = (command: string | readonly string[]) => refusalReason(policy, command);
  const hooks = new ProjectHooks({ cwd: baseDir, config, logger, registry });
  const history = new LazyHistory(config, logger, options.store);
  const runs = runFoldersFrom(config, logger);
  return {
    config,
    logger,
    registry,
    slots: new ProcessSlots(config.maxProcesses),
    sessionId: randomUUID(),
    refuseCommand,
    hooks,
    history,
    doorServices: async () => ({ hooks: hooks.current(), history: await history.recorder(), estimateTimeouts: config.estimateTimeouts, refuseCommand, runs }),
    directory: (cwd, field = "cwd") => existingDirectory(baseDir, cwd, field),
  };
}

function existingDirectory(baseDir: string, cwd: string | undefined, field: string): string {
  const dir = resolve(baseDir, cwd ?? ".");
  let ok = false;
  try {
    ok = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!ok) throw new ArgumentError(`Invalid arguments: ${field}: not an existing directory: ${dir}`);
  return dir;
}
