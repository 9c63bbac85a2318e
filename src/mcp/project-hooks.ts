import type { Config } from "../config.js";
import { HookConfigError, loadHooks, type HookSet } from "../hooks/index.js";
import type { Logger } from "../logger.js";
import type { GroupRegistry } from "../process/index.js";
import { UnavailableError } from "./tool-results.js";

/**
 * The hooks of the MCP server: the project's .cc-executor/hooks.json, else the state directory's,
 * as for the WebSocket server. An invalid file does not stop the server (Claude Code would only
 * say "failed to connect"): every call that runs work is answered with the file's error instead,
 * until it is fixed.
 */
export class ProjectHooks {
  private hooks: HookSet | undefined;
  private error: string | undefined;

  constructor(
    private readonly options: { cwd: string; config: Config; logger: Logger; registry: GroupRegistry },
  ) {
    try {
      this.current(); // an invalid file is reported on stderr at start
    } catch (err) {
      if (!(err instanceof UnavailableError)) throw err;
    }
  }

  /** The hook set for a call that runs work; UnavailableError while the file is invalid. */
  current(): HookSet {
    if (this.hooks) return this.hooks; // from now on the set re-reads the file itself (an invalid edit keeps the previous hooks, with a warning)
    const { cwd, config, logger, registry } = this.options;
    try {
      this.hooks = loadHooks({ cwd, home: config.home, logger, shell: config.shell, killGraceMs: config.killGraceMs, registry });
      if (this.hooks.configPath) logger.info({ file: this.hooks.configPath }, "mcp: hooks loaded");
      if (this.error) logger.info("mcp: the hooks file is valid again; tool calls run");
      this.error = undefined;
      return this.hooks;
    } catch (err) {
      if (!(err instanceof HookConfigError)) throw err;
      if (this.error !== err.message) logger.error({ file: err.file }, `mcp: invalid hooks file; tool calls that run work are refused until it is fixed: ${err.message}`);
      this.error = err.message;
      throw new UnavailableError(`Invalid hooks file, so nothing runs until it is fixed (it is read again on every call): ${err.message}`);
    }
  }
}
