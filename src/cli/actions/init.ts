import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { PACKAGE_ROOT } from "../../package-root.js";
import type { InitFlags } from "../commands/init.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { info, printJson, style, warn } from "../output.js";
import { claudeMcpAddLine, mcpEntry } from "../mcp-entry.js";

const TEMPLATES = join(PACKAGE_ROOT, "templates");

/** What `init` writes into a project: [template file, destination relative to the project]. */
const FILES: Array<[string, string]> = [
  ["cc_execute.md", "cc_execute.md"],
  ["tasks.example.md", "tasks.example.md"],
  ["config.env", join(".cc-executor", "config.env")],
];

export interface InitResult {
  written: string[];
  skipped: string[];
}

export function initProject(dir: string, force = false): InitResult {
  const result: InitResult = { written: [], skipped: [] };
  for (const [template, dest] of FILES) {
    const target = join(dir, dest);
    if (existsSync(target) && !force) {
      result.skipped.push(dest);
      continue;
    }
    mkdirSync(join(target, ".."), { recursive: true });
    writeFileSync(target, readFileSync(join(TEMPLATES, template)));
    result.written.push(dest);
  }
  return result;
}

export interface McpJsonResult {
  path: string;
  /** created: new file; updated: entry added or replaced; unchanged: already there; kept: a different entry exists (force to replace). */
  action: "created" | "updated" | "unchanged" | "kept";
}

/** Adds the cc-executor entry to <dir>/.mcp.json, keeping every other server (and other keys) as they are. */
export function writeMcpJson(dir: string, entry: { command: string; args: string[] }, force = false): McpJsonResult {
  const path = join(dir, ".mcp.json");
  let doc: Record<string, unknown> = {};
  const exists = existsSync(path);
  if (exists) {
    try {
      const parsed = JSON.parse(readFileSync(path, "utf8")) as unknown;
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not a JSON object");
      doc = parsed as Record<string, unknown>;
    } catch (err) {
      throw new CliError(`${path} is not valid JSON (${(err as Error).message}); fix it or move it away, nothing was written`, ExitCode.usage);
    }
  }
  const servers = doc.mcpServers ?? {};
  if (typeof servers !== "object" || servers === null || Array.isArray(servers)) throw new CliError(`${path}: "mcpServers" is not an object; nothing was written`, ExitCode.usage);
  const current = (servers as Record<string, unknown>)["cc-executor"];
  if (current !== undefined && JSON.stringify(current) === JSON.stringify(entry)) return { path, action: "unchanged" };
  if (current !== undefined && !force) return { path, action: "kept" };
  doc.mcpServers = { ...(servers as Record<string, unknown>), "cc-executor": entry };
  writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`);
  return { path, action: exists ? "updated" : "created" };
}

const HOW = {
  installed: "the installed cc-executor on PATH",
  "this-cli": "this cc-executor (not on PATH): node and its script, by absolute paths",
  npx: "npx (cc-executor is not installed here)",
} as const;

function initMcp(dir: string, flags: InitFlags): void {
  const { how, warning, ...entry } = mcpEntry();
  const mcpJson = { mcpServers: { "cc-executor": entry } };
  const addLine = claudeMcpAddLine(entry);
  if (warning) warn(warning);
  const written = flags.write ? writeMcpJson(dir, entry, flags.force) : undefined;
  if (flags.json) return printJson({ claude_mcp_add: addLine, mcp_json: mcpJson, command_from: how, ...(warning ? { warning } : {}), ...(written ? { written } : {}) });
  process.stdout.write(`# Claude Code, from a shell (add --scope project or --scope user as you like):\n${addLine}\n\n# or in the project's .mcp.json:\n${JSON.stringify(mcpJson, null, 2)}\n`);
  info(style(`(the command runs ${HOW[how]})`, "dim"));
  if (!written) return info(style("\n(--write adds it to ./.mcp.json)", "dim"));
  const rel = relative(process.cwd(), written.path) || ".mcp.json";
  if (written.action === "kept") info(`${style("kept", "yellow")}    ${rel}: it has a different "cc-executor" entry (--force to replace it)`);
  else info(`${style(written.action === "unchanged" ? "ok" : "wrote", "green")}   ${rel} (${written.action})`);
}

/** `cc-executor init`: the project files, or with --mcp the MCP server entry. */
export function init(flags: InitFlags): void {
  const dir = flags.dir ?? process.cwd();
  if (flags.mcp) return initMcp(dir, flags);
  if (flags.write) throw new CliError("--write goes with --mcp", ExitCode.usage);
  const result = initProject(dir, flags.force);
  if (flags.json) return printJson(result);
  for (const f of result.written) info(`${style("wrote", "green")}   ${f}`);
  for (const f of result.skipped) info(`${style("kept", "yellow")}    ${f} (exists; --force to overwrite)`);
  info(
    `\nNext: tell your orchestrating Claude session to read ${relative(process.cwd(), join(dir, "cc_execute.md")) || "cc_execute.md"}, or run the sample:\n  cc-executor tasks run ${join(relative(process.cwd(), dir), "tasks.example.md")}`,
  );
}
