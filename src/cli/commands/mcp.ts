import type { Command } from "commander";

export function registerMcp(program: Command): void {
  program
    .command("mcp")
    .description("run an MCP server on stdio (for Claude Code and other MCP clients): tools cc_execute, run_task_list, execute_command, history")
    .addHelpText(
      "after",
      `
Every tool call blocks until its work has finished and runs in this process (no WebSocket server
needed). Canceling a call, or closing the connection, kills its process groups. Logs go to stderr.
Hooks (.cc-executor/hooks.json of the working directory, once trusted), the command policy, the history and
timeout estimates apply as in the server; with an invalid hooks file the server starts but refuses
every call that runs work, saying why, until the file is fixed.

Add it to Claude Code: \`cc-executor init --mcp\` prints the \`claude mcp add\` line and the
.mcp.json entry with a command that works from here (e.g. claude mcp add cc-executor --
/usr/local/bin/cc-executor mcp); \`cc-executor init --mcp --write\` writes the project's .mcp.json.

Tools and arguments: docs/mcp.md`,
    )
    .action(async () => (await import("../actions/mcp.js")).runMcp());
}
