import { Option, type Command } from "commander";
import type { ClaudeRequestOptions } from "../../client/index.js";
import { addEnvOptions, CARRIED_HELP, type EnvFlags } from "../caller-env-options.js";
import { parseCostOption, parsePositiveInt, parsePositiveNumber, parseTokensOption } from "../parse-options.js";

export interface ClaudeFlags extends EnvFlags {
  json?: boolean;
  model?: string;
  timeout?: number;
  maxTurns?: number;
  tools?: string;
  disallowedTools?: string;
  appendSystemPrompt?: string;
  mcpConfig?: string;
  permissionMode?: ClaudeRequestOptions["permission_mode"];
  cwd?: string;
  uuid: boolean;
  waitOnLimit?: boolean;
  maxAttempts?: number;
  maxCost?: number;
  maxTokens?: number;
  resumeSession: boolean;
  quiet?: boolean;
  detach?: boolean;
  url?: string;
  token?: string;
  local: boolean;
}

export function registerClaude(program: Command): void {
  const cmd = program
    .command("claude")
    .description("run one Claude Code task headless (a fresh `claude -p` process), verified with an execution UUID")
    .argument("<prompt...>", "the task (quote it; words are joined with spaces)")
    .option("--json", "JSON mode: ask claude for {result, summary, files_created, files_modified} and print one JSON result object")
    .option("-m, --model <model>", "model, e.g. sonnet, opus, haiku or a full name")
    .option("-t, --timeout <seconds>", "wall-clock limit per attempt (default: estimated from history, else by prompt complexity)", parsePositiveNumber)
    .option("--max-turns <n>", "stop claude after n turns", parsePositiveInt)
    .option("--tools <list>", "tools claude may use without asking, comma-separated (e.g. Read,Write,Bash)")
    .option("--disallowed-tools <list>", "tools claude must not use, comma-separated")
    .option("--append-system-prompt <text>", "text appended to claude's system prompt")
    .option("--mcp-config <file>", "MCP server configuration for claude")
    .addOption(new Option("--permission-mode <mode>", "claude's permission mode").choices(["default", "acceptEdits", "bypassPermissions", "plan", "dontAsk", "auto"]))
    .option("-C, --cwd <dir>", "working directory (default: this one)")
    .option("--no-uuid", "turn off the execution-UUID check")
    .option("--wait-on-limit", "when the usage limit is reached, wait for its reset (with a countdown) and retry")
    .option("--max-attempts <n>", "attempts in all for retryable failures (default 3)", parsePositiveInt)
    .option("--max-cost <usd>", "the most this task may cost over all its attempts, in US dollars (passed on as claude's --max-budget-usd)", parseCostOption)
    .option("--max-tokens <n>", "the most tokens (input + output + cache) it may use over all its attempts, e.g. 500000 or 500k", parseTokensOption)
    .option("--no-resume-session", "retries start afresh instead of continuing the failed attempt's Claude session")
    .option("-q, --quiet", "no progress on stderr")
    .option("--detach", "start it as a run of the server (one is started in the background when none runs) and return at once with its id; then: cc-executor wait <id>")
    .option("--url <url>", "server WebSocket URL (default ws://127.0.0.1:8003/ws/mcp)")
    .option("--token <token>", "auth token")
    .option("--no-local", "fail instead of running in-process when no server is running");
  addEnvOptions(cmd).addHelpText(
      "after",
      `
Exit codes: 0 verified success, 1 failure, 5 its budget (--max-cost / --max-tokens) ran out,
75 usage/rate limit, overload or API unreachable (try later), 124 timeout, 127 claude binary not
found, 130 canceled.

With --detach the task belongs to the server: this command prints its id (with --json a small
object with the wait and logs commands) and exits 0; the task runs to its end even when the
caller is gone. Exit 4: a server this command started was still starting (nothing was started;
run the same command again). \`cc-executor wait <id>\` prints its result (the same JSON, the same exit codes).

Examples:
  cc-executor claude "Create hello.py that prints hi"
  cc-executor claude --json --tools Read,Write,Bash "Write tests for src/parse.ts and make them pass"
  cc-executor claude --model sonnet --timeout 900 --max-turns 30 "Refactor utils.ts"
  id=$(cc-executor claude --detach "Refactor utils.ts") && cc-executor wait "$id"

${CARRIED_HELP}`,
    )
    .action(async (words: string[], flags: ClaudeFlags) => {
      const { runClaude } = await import("../actions/claude.js");
      process.exitCode = await runClaude(words.join(" "), flags);
    });
}
