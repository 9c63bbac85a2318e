import { ClaudeBinaryNotFoundError, resolveClaudeBinary } from "../claude/index.js";
import { ENV_VARS, type Config } from "../config.js";
import { VERSION } from "../version.js";
import type { ServerContext } from "./context.js";
import type { MethodHandler } from "./session.js";
import { redactUrl } from "../redact-url.js";

/** Where the server finds claude for a request that carries no CLAUDE_BIN. */
export type ClaudeBinaryReport = { path: string; source: "CLAUDE_BIN" | "PATH" } | { error: string };

/** The `settings` answer: what this server runs with, for clients to compare with their own. */
export interface ServerSettings {
  version: string;
  pid: number;
  home: string;
  /** Every setting by its environment variable name (the token left out, passwords in URLs hidden). */
  settings: Record<string, unknown>;
  claude: ClaudeBinaryReport;
}


export function settingsByName(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV_VARS)) {
    if (name === "CC_EXECUTOR_TOKEN") continue;
    const value = config[key];
    if (value === undefined) continue;
    out[name] = name === "REDIS_URL" ? redactUrl(String(value)) : value;
  }
  return out;
}

export function claudeBinaryReport(env: NodeJS.ProcessEnv = process.env): ClaudeBinaryReport {
  try {
    return { path: resolveClaudeBinary(env), source: env.CLAUDE_BIN?.trim() ? "CLAUDE_BIN" : "PATH" };
  } catch (err) {
    if (err instanceof ClaudeBinaryNotFoundError) return { error: err.message };
    throw err;
  }
}

/** `settings` (extension): the server's own settings and claude binary (docs/protocol.md). */
export function settingsMethod(ctx: ServerContext): MethodHandler {
  return (): ServerSettings => ({ version: VERSION, pid: process.pid, home: ctx.config.home, settings: settingsByName(ctx.config), claude: claudeBinaryReport() });
}
