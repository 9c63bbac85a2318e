import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { loadConfig, type Config } from "../../config.js";
import { checkTrust, HookConfigError, loadHooks, PROJECT_HOOKS_FILE, readHooksFile, trustedHooksFiles, trustHooksFile, untrustHooksFile, type HookSet } from "../../hooks/index.js";
import type { Logger } from "../../logger.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { info, printJson, style } from "../output.js";

/** The project's hooks (cwd's .cc-executor/hooks.json when trusted, else the state directory's); an invalid file is a usage error. */
export function loadProjectHooks(config: Config, cwd: string = process.cwd(), logger?: Logger): HookSet {
  try {
    return loadHooks({ cwd, home: config.home, logger, shell: config.shell, killGraceMs: config.killGraceMs });
  } catch (err) {
    if (err instanceof HookConfigError) throw new CliError(err.message, ExitCode.usage);
    throw err;
  }
}

/** The hooks file a trust command means: the argument, else ./.cc-executor/hooks.json. */
function hooksFileArg(file: string | undefined): string {
  const path = resolve(file ?? PROJECT_HOOKS_FILE);
  if (!existsSync(path)) throw new CliError(`${path}: no such file${file ? "" : " (give the hooks file to trust, or run this in the project)"}`, ExitCode.usage);
  return path;
}

function trustState(home: string, path: string): "trusted" | "changed" | "missing" {
  if (!existsSync(path)) return "missing";
  return checkTrust(home, path).trusted ? "trusted" : "changed";
}

/** `cc-executor hooks list`. */
export function hooksList(flags: { json?: boolean }): void {
  const config = loadConfig();
  const status = loadProjectHooks(config).status();
  const trusted = trustedHooksFiles(config.home).map(({ path, record }) => ({ path, state: trustState(config.home, path), files: Object.keys(record.files), trusted_at: record.trusted_at }));
  if (flags.json) return printJson({ ...status, trusted });
  const out = process.stdout;
  out.write(`${status.config_path ? `hooks file: ${status.config_path}` : "no hooks file in use (looked for a trusted .cc-executor/hooks.json here and hooks.json in the state directory)"}\n`);
  if (status.untrusted) out.write(`${style(`not trusted: ${status.untrusted.message}`, "yellow", out)}\n`);
  if (status.config_error) out.write(`${style(`invalid: ${status.config_error}`, "red", out)}\n`);
  for (const h of status.hooks) out.write(`  ${h.event.padEnd(15)} ${h.type === "command" ? h.command : `${h.module}#${h.export}`}  (timeout ${h.timeout}s, on error: ${h.on_error})\n`);
  out.write("  built in: uuid-check (pre-claude, post-claude), on unless --no-uuid\n");
  if (trusted.length > 0) {
    out.write("trusted project hooks files:\n");
    for (const t of trusted) out.write(`  ${t.state === "trusted" ? style("trusted", "green", out) : style(t.state, "yellow", out)}  ${t.path}  (${t.files.length} file${t.files.length === 1 ? "" : "s"}, since ${t.trusted_at})\n`);
  }
}

/** `cc-executor hooks trust`. */
export function hooksTrust(file: string | undefined, flags: { json?: boolean }): void {
  const config = loadConfig();
  const path = hooksFileArg(file);
  try {
    readHooksFile(path);
  } catch (err) {
    throw new CliError(`not trusted: ${(err as Error).message}`, ExitCode.usage);
  }
  const record = trustHooksFile(config.home, path);
  if (flags.json) return printJson({ path, ...record });
  info(`${style("trusted", "green")} ${path}; its hooks run from now on. Covered (a change to any of them stops them again until you trust anew):`);
  for (const f of Object.keys(record.files)) info(`  ${f}`);
}

/** `cc-executor hooks untrust`. */
export function hooksUntrust(file: string | undefined, flags: { json?: boolean }): void {
  const config = loadConfig();
  const path = resolve(file ?? PROJECT_HOOKS_FILE);
  const removed = untrustHooksFile(config.home, path);
  if (flags.json) printJson({ path, removed });
  else info(removed ? `no longer trusted: ${path}` : `${path} was not trusted`);
  if (!removed) process.exitCode = ExitCode.failure;
}
