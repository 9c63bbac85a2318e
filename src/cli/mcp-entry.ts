import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { findExecutable } from "../process/index.js";

/**
 * The command Claude Code should run to start `cc-executor mcp`, chosen so that it works from
 * where `init --mcp` runs: the installed CLI by its absolute path when `cc-executor` is on PATH;
 * else this CLI itself (node and its absolute script, e.g. a clone or a project's node_modules);
 * else, from a throw-away npx cache, `npx -y cc-executor mcp`.
 */
export interface McpEntry {
  command: string;
  args: string[];
  /** Why this form was chosen, for people. */
  how: "installed" | "this-cli" | "npx";
  /** Set when the chosen command does not resolve here (the entry may not start). */
  warning?: string;
}

/** The script this CLI runs from (dist/cli/main.js; a bin link resolved to it). */
function thisCli(): string {
  return realpathSync(process.argv[1] ?? fileURLToPath(import.meta.url));
}

const NPX_CACHE = /[\\/]_npx[\\/]/;

export function mcpEntry(env: NodeJS.ProcessEnv = process.env): McpEntry {
  const installed = findExecutable("cc-executor", env.PATH ?? "");
  // The bin link itself, not its target: a global install's link survives upgrades. Under
  // `npx cc-executor`, PATH starts with npx's cache, which is no install: it may be cleaned away.
  if (installed && !NPX_CACHE.test(installed)) return { command: installed, args: ["mcp"], how: "installed" };
  const script = thisCli();
  if (!NPX_CACHE.test(script)) return { command: process.execPath, args: [script, "mcp"], how: "this-cli" };
  const npx = findExecutable("npx", env.PATH ?? "");
  return {
    command: "npx",
    args: ["-y", "cc-executor", "mcp"],
    how: "npx",
    ...(npx ? {} : { warning: "neither `cc-executor` nor `npx` is on PATH here: install cc-executor (npm install -g cc-executor) or Node.js's npx where Claude Code runs" }),
  };
}

/** The `claude mcp add` line for an entry (arguments quoted for a POSIX shell when needed). */
export function claudeMcpAddLine(entry: Pick<McpEntry, "command" | "args">): string {
  const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);
  return `claude mcp add cc-executor -- ${[entry.command, ...entry.args].map(q).join(" ")}`;
}
