import { resolve } from "node:path";
import type { Command } from "commander";
import { Option } from "commander";
import type { ClaudeTaskResult } from "../../claude/index.js";
import type { ClaudeRequestOptions, ExecutorEvent } from "../../client/index.js";
import { Notifications } from "../../protocol/index.js";
import { connectOrStartDaemon, connectOrStartLocal, ServerStartingError } from "../connect.js";
import { detachDeadline, printDetached, printServerStarting } from "../detach.js";
import { cancelOnceStarted, onInterrupt } from "../interrupt.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { formatDuration, info, printJson, style } from "../output.js";
import { parseCostOption, parsePositiveInt, parsePositiveNumber, parseTokensOption } from "../parse-options.js";
import { claudeExitCode, claudeProgress, printClaudeResult } from "../claude-output.js";
import { isLiveTerminal, LiveLine } from "../live-line.js";
import { addEnvOptions, CARRIED_HELP, carriedValue, requestEnv, warnSettingDifferences, type EnvFlags } from "../caller-env.js";

interface ClaudeFlags extends EnvFlags {
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

const list = (s?: string) => (s ? s.split(",").map((x) => x.trim()).filter(Boolean) : undefined);

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
      process.exitCode = await runClaude(words.join(" "), flags);
    });
}

function requestOptions(flags: ClaudeFlags): Omit<ClaudeRequestOptions, "onEvent"> {
  return {
    json: flags.json,
    model: flags.model,
    timeout: flags.timeout,
    max_turns: flags.maxTurns,
    tools: list(flags.tools),
    disallowed_tools: list(flags.disallowedTools),
    append_system_prompt: flags.appendSystemPrompt,
    mcp_config: flags.mcpConfig,
    // Carried from here when set and not given as flags (docs/cli.md "What a request carries").
    permission_mode: flags.permissionMode ?? carriedValue("CC_EXECUTOR_PERMISSION_MODE"),
    cwd: resolve(flags.cwd ?? process.cwd()),
    env: requestEnv(flags, { claude: true }),
    uuid: flags.uuid,
    wait_on_limit: flags.waitOnLimit ?? carriedValue("CC_EXECUTOR_WAIT_ON_LIMIT"),
    max_attempts: flags.maxAttempts ?? carriedValue("CC_EXECUTOR_CLAUDE_MAX_ATTEMPTS"),
    ...(flags.maxCost !== undefined ? { max_cost: flags.maxCost } : {}),
    ...(flags.maxTokens !== undefined ? { max_tokens: flags.maxTokens } : {}),
    ...(flags.resumeSession === false ? { resume_session: false } : {}),
  };
}

async function runDetached(prompt: string, flags: ClaudeFlags): Promise<number> {
  const options = requestOptions(flags); // bad --env/--pass-env: exit 2 before anything starts
  let client;
  try {
    client = await connectOrStartDaemon({ url: flags.url, token: flags.token }, { quiet: flags.quiet, deadline: detachDeadline() });
  } catch (err) {
    if (err instanceof ServerStartingError) return printServerStarting(err, flags);
    throw err;
  }
  try {
    await warnSettingDifferences(client, "claude");
    printDetached(await client.detachClaude(prompt, options), "claude", flags);
    return ExitCode.ok;
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.failure);
  } finally {
    await client.close();
  }
}

async function runClaude(prompt: string, flags: ClaudeFlags): Promise<number> {
  if (flags.detach) return runDetached(prompt, flags);
  const options = requestOptions(flags); // bad --env/--pass-env: exit 2 before connecting
  const conn = await connectOrStartLocal({ url: flags.url, token: flags.token, local: flags.local }, flags.json || flags.quiet);
  const cancel = cancelOnceStarted(() => conn.client.cancel());
  const interrupt = onInterrupt("canceling the claude task…", cancel.request);
  const progress = flags.json || flags.quiet ? undefined : claudeProgress(prompt, isLiveTerminal(flags.json || flags.quiet) ? new LiveLine() : undefined);
  try {
    if (!conn.local) await warnSettingDifferences(conn.client, "claude", conn.url);
    const result = await conn.client.claude(prompt, { ...options, onEvent: (ev) => (cancel.started(), progress?.onEvent(ev)) });
    progress?.stop();
    printClaudeResult(result, flags);
    if (interrupt.interrupted) info(style(`claude task ${result.execution_id} stopped by ${interrupt.signal}; run it again (with --detach it outlives its caller)`, "yellow"));
    return interrupt.interrupted ? ExitCode.interrupted : claudeExitCode(result);
  } catch (err) {
    throw new CliError((err as Error).message, ExitCode.failure);
  } finally {
    progress?.stop();
    interrupt.dispose();
    await conn.close();
  }
}
