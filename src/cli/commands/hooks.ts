import type { Command } from "commander";
import { loadConfig } from "../../config.js";
import type { Config } from "../../config.js";
import { HookConfigError, loadHooks, type HookSet } from "../../hooks/index.js";
import type { Logger } from "../../logger.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { printJson, style } from "../output.js";

/** The project's hooks (cwd's .cc-executor/hooks.json, else the state directory's); an invalid file is a usage error. */
export function loadProjectHooks(config: Config, cwd: string = process.cwd(), logger?: Logger): HookSet {
  try {
    return loadHooks({ cwd, home: config.home, logger, shell: config.shell, killGraceMs: config.killGraceMs });
  } catch (err) {
    if (err instanceof HookConfigError) throw new CliError(err.message, ExitCode.usage);
    throw err;
  }
}

export function registerHooks(program: Command): void {
  const hooks = program.command("hooks").description("hooks run before and after executions, claude calls, tasks and task lists (docs/hooks.md)");
  hooks
    .command("list")
    .description("the hooks configured for this project (.cc-executor/hooks.json, else the state directory's hooks.json)")
    .option("--json", "print JSON (the hook_status answer)")
    .action((flags: { json?: boolean }) => {
      const status = loadProjectHooks(loadConfig()).status();
      if (flags.json) return printJson(status);
      const out = process.stdout;
      out.write(`${status.config_path ? `hooks file: ${status.config_path}` : "no hooks file (looked for .cc-executor/hooks.json here and hooks.json in the state directory)"}\n`);
      if (status.config_error) out.write(`${style(`invalid: ${status.config_error}`, "red", out)}\n`);
      for (const h of status.hooks) out.write(`  ${h.event.padEnd(15)} ${h.type === "command" ? h.command : `${h.module}#${h.export}`}  (timeout ${h.timeout}s, on error: ${h.on_error})\n`);
      out.write("  built in: uuid-check (pre-claude, post-claude), on unless --no-uuid\n");
    });
}
