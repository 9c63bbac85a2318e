import type { Command } from "commander";

export interface InitFlags {
  dir?: string;
  force?: boolean;
  json?: boolean;
  mcp?: boolean;
  write?: boolean;
}

export function registerInit(program: Command): void {
  program
    .command("init")
    .description("write cc_execute.md (the orchestrator prompt), a sample task list and a commented config into this project")
    .option("-C, --dir <dir>", "project directory (default: this one)")
    .option("-f, --force", "overwrite files that exist")
    .option("--json", "print what was written as JSON")
    .option("--mcp", "print the MCP server entry for Claude Code (`claude mcp add` and .mcp.json forms) instead: a command that works from here (the installed cc-executor by its absolute path, else this one, else npx -y cc-executor mcp)")
    .option("--write", "with --mcp: add the entry to ./.mcp.json (other servers are kept)")
    .action(async (flags: InitFlags) => (await import("../actions/init.js")).init(flags));
}
