import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { findExecutable } from "../process/index.js";

/**
 * This package's own node_modules/.bin: it holds the claude CLI the tests pin (a devDependency),
 * and `npx cc-executor` in a clone puts it first on PATH. The user's own claude comes first.
 */
const OWN_BIN = resolve(fileURLToPath(new URL("../../node_modules/.bin", import.meta.url)));

export type PermissionMode = "default" | "acceptEdits" | "bypassPermissions" | "plan" | "dontAsk" | "auto";
export const PERMISSION_MODES: readonly PermissionMode[] = ["default", "acceptEdits", "bypassPermissions", "plan", "dontAsk", "auto"];

/** The claude CLI options we pass through (docs/claude.md explains each). */
export interface ClaudeCliOptions {
  model?: string;
  maxTurns?: number;
  /** --allowedTools: tools claude may use without asking, e.g. ["Read", "Write", "Bash(git:*)"]. */
  tools?: string[];
  disallowedTools?: string[];
  appendSystemPrompt?: string;
  /** Path (or JSON text) of an MCP server configuration. */
  mcpConfig?: string;
  permissionMode?: PermissionMode;
  /** JSON schema for structured output (--json-schema); the answer then arrives as result.structured_output. */
  jsonSchema?: object;
}

/** Arguments the runner sets per attempt: the session to continue, and what is left of the task's budget. */
export interface AttemptArgs {
  resume?: string;
  maxBudgetUsd?: number;
}

/**
 * Longest prompt passed as an argument. Linux refuses a single argv element over 128 KiB (E2BIG,
 * MAX_ARG_STRLEN); a longer prompt goes on stdin, which `claude -p` reads when no prompt is given.
 */
export const MAX_PROMPT_ARG_BYTES = 100 * 1024;

export function promptGoesOnStdin(prompt: string): boolean {
  return Buffer.byteLength(prompt, "utf8") > MAX_PROMPT_ARG_BYTES;
}

/**
 * The argv for one headless run. Options first, then `--`, then the prompt as one element: the
 * prompt is never interpreted by a shell or by the option parser, whatever it contains.
 * Without a prompt (undefined) the argv ends with the options: the prompt then comes on stdin.
 */
export function buildClaudeArgv(prompt: string | undefined, options: ClaudeCliOptions = {}, attempt: AttemptArgs = {}): string[] {
  const argv = ["-p", "--output-format", "stream-json", "--verbose"];
  if (attempt.resume) argv.push("--resume", attempt.resume);
  if (attempt.maxBudgetUsd !== undefined) argv.push("--max-budget-usd", String(Math.max(0, Math.round(attempt.maxBudgetUsd * 1e6) / 1e6)));
  if (options.model) argv.push("--model", options.model);
  if (options.maxTurns !== undefined) argv.push("--max-turns", String(options.maxTurns));
  if (options.tools?.length) argv.push("--allowedTools", options.tools.join(","));
  if (options.disallowedTools?.length) argv.push("--disallowedTools", options.disallowedTools.join(","));
  if (options.appendSystemPrompt) argv.push("--append-system-prompt", options.appendSystemPrompt);
  if (options.mcpConfig) argv.push("--mcp-config", options.mcpConfig);
  if (options.permissionMode) argv.push("--permission-mode", options.permissionMode);
  if (options.jsonSchema) argv.push("--json-schema", JSON.stringify(options.jsonSchema));
  if (prompt !== undefined) argv.push("--", prompt);
  return argv;
}

export class ClaudeBinaryNotFoundError extends Error {
  constructor(detail: string) {
    super(`claude binary not found: ${detail}. Install Claude Code (npm install -g @anthropic-ai/claude-code) and make sure \`claude\` is on PATH, or set CLAUDE_BIN to its path`);
    this.name = "ClaudeBinaryNotFoundError";
  }
}

/** CLAUDE_BIN when set (it must be an executable file), else `claude` on PATH. */
export function resolveClaudeBinary(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.CLAUDE_BIN?.trim();
  if (configured) {
    try {
      if (!statSync(configured).isFile()) throw new Error("not a file");
      accessSync(configured, constants.X_OK);
      return configured;
    } catch {
      throw new ClaudeBinaryNotFoundError(`CLAUDE_BIN=${configured} is not an executable file (PATH was not searched because CLAUDE_BIN is set)`);
    }
  }
  const path = env.PATH ?? "";
  const elsewhere = path.split(delimiter).filter((dir) => dir && resolve(dir) !== OWN_BIN).join(delimiter);
  const found = findExecutable("claude", elsewhere) ?? findExecutable("claude", path);
  if (!found) throw new ClaudeBinaryNotFoundError("CLAUDE_BIN is not set and no `claude` on PATH");
  return found;
}

/** What to do with ANTHROPIC_API_KEY: pass it on (API billing) or remove it (use the Claude login). */
export type ApiKeyMode = "inherit" | "strip";

/** Environment additions/removals for the claude process. */
export function claudeEnv(apiKeyMode: ApiKeyMode): { remove: string[] } {
  return { remove: apiKeyMode === "strip" ? ["ANTHROPIC_API_KEY"] : [] };
}
