import { resolve } from "node:path";
import type { ClaudeRequestOptions } from "../../client/index.js";
import { carriedValue, requestEnv, warnSettingDifferences } from "../caller-env.js";
import type { ClaudeFlags } from "../commands/claude.js";
import { connectOrStartLocal } from "../connect.js";
import { startDetached } from "../detach.js";
import { cancelOnceStarted, onInterrupt } from "../interrupt.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { info, style } from "../output.js";
import { claudeExitCode, claudeProgress, printClaudeResult } from "../claude-output.js";
import { isLiveTerminal, LiveLine } from "../live-line.js";

const list = (s?: string) => (s ? s.split(",").map((x) => x.trim()).filter(Boolean) : undefined);

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

function runDetached(prompt: string, flags: ClaudeFlags): Promise<number> {
  const options = requestOptions(flags); // bad --env/--pass-env: exit 2 before anything starts
  return startDetached(flags, { kind: "claude", command: "claude" }, (client) => client.detachClaude(prompt, options));
}

/** `cc-executor claude`: one Claude Code task, in the foreground or detached; its exit code. */
export async function runClaude(prompt: string, flags: ClaudeFlags): Promise<number> {
  if (flags.detach) return runDetached(prompt, flags);
  const options = requestOptions(flags); // bad --env/--pass-env: exit 2 before connecting
  const conn = await connectOrStartLocal({ url: flags.url, token: flags.token, local: flags.local }, flags.json || flags.quiet);
  const cancel = cancelOnceStarted(() => conn.client.cancel());
  const interrupt = onInterrupt("canceling the claude task…", cancel.request);
  const progress = flags.json || flags.quiet ? undefined : claudeProgress(prompt, isLiveTerminal(flags.json || flags.quiet) ? new LiveLine() : undefined);
  try {
    if (!conn.local) await warnSettingDifferences(conn.client, "claude", conn.url, conn.config);
    const result = await conn.client.claude(prompt, { ...options, onEvent: (ev) => (cancel.started(), progress?.onEvent(ev)) });
    progress?.stop();
    printClaudeResult(result, flags, progress?.shownError());
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
