import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { Command } from "commander";
import { CliError, ExitCode } from "../exit-codes.js";
import { info, printJson, style } from "../output.js";

const TEMPLATES = new URL("../../../templates/", import.meta.url);

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
    writeFileSync(target, readFileSync(new URL(template, TEMPLATES)));
    result.written.push(dest);
  }
  return result;
}

/** The MCP server entry for Claude Code: `claude mcp add` form and the .mcp.json form. */
export const MCP_ADD_COMMAND = "claude mcp add cc-executor -- cc-executor mcp";
export const MCP_SERVER_ENTRY = { command: "cc-executor", args: ["mcp"] };

export interface McpJsonResult {
  path: string;
  /** created: new file; updated: entry added or replaced; unchanged: already there; kept: a different entry exists (force to replace). */
  action: "created" | "updated" | "unchanged" | "kept";
}

/** Adds the cc-executor entry to <dir>/.mcp.json, keeping every other server (and other keys) as they are. */
export function writeMcpJson(dir: string, force = false): McpJsonResult {
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
  if (current !== undefined && JSON.stringify(current) === JSON.stringify(MCP_SERVER_ENTRY)) return { path, action: "unchanged" };
  if (current !== undefined && !force) return { path, action: "kept" };
  doc.mcpServers = { ...(servers as Record<string, unknown>), "cc-executor": MCP_SERVER_ENTRY };
  writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`);
  return { path, action: exists ? "updated" : "created" };
}

function initMcp(dir: string, flags: { force?: boolean; json?: boolean; write?: boolean }): void {
  const mcpJson = { mcpServers: { "cc-executor": MCP_SERVER_ENTRY } };
  const written = flags.write ? writeMcpJson(dir, flags.force) : undefined;
  if (flags.json) return printJson({ claude_mcp_add: MCP_ADD_COMMAND, mcp_json: mcpJson, ...(written ? { written } : {}) });
  process.stdout.write(`# Claude Code, from a shell (add --scope project or --scope user as you like):\n${MCP_ADD_COMMAND}\n\n# or in the project's .mcp.json:\n${JSON.stringify(mcpJson, null, 2)}\n`);
  if (!written) return info(style("\n(--write adds it to ./.mcp.json)", "dim"));
  const rel = relative(process.cwd(), written.path) || ".mcp.json";
  if (written.action === "kept") info(`${style("kept", "yellow")}    ${rel}: it has a different "cc-executor" entry (--force to replace it)`);
  else info(`${style(written.action === "unchanged" ? "ok" : "wrote", "green")}   ${rel} (${written.action})`);
}

export function registerInit(program: Command): void {
  program
    .command("init")
    .description("write cc_execute.md (the orchestrator prompt), a sample task list and a commented config into this project")
    .option("-C, --dir <dir>", "project directory (default: this one)")
    .option("-f, --force", "overwrite files that exist")
    .option("--json", "print what was written as JSON")
    .option("--mcp", "print the MCP server entry for Claude Code (`claude mcp add` and .mcp.json forms) instead")
    .option("--write", "with --mcp: add the entry to ./.mcp.json (other servers are kept)")
    .action((flags: { dir?: string; force?: boolean; json?: boolean; mcp?: boolean; write?: boolean }) => {
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
    });
}
