import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { statePaths } from "../paths.js";
import { GroupRegistry, type GroupRegistryOptions } from "../process/index.js";

/** How the configuration contains executions: cgroup or process group, and per-execution limits. */
export function containmentOptions(config: Config): GroupRegistryOptions {
  return { containment: config.containment, limits: { pidsMax: config.pidsMax, memoryMax: config.memoryMax } };
}

/** The registry of a server, MCP server or worker on the configured state directory. */
export function openGroupRegistry(config: Config, logger?: Logger): GroupRegistry {
  return new GroupRegistry(statePaths(config.home).groupsDir, logger, containmentOptions(config));
}
