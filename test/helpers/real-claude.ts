/*
 * Running the real `claude` CLI in tests: which binary, and the environment that points it at
 * the Messages API double with nothing leaving the machine.
 *
 * Binary: CC_EXECUTOR_TEST_CLAUDE_BIN when set (any build, e.g. the newest native one fetched by
 * scripts/fetch-claude-latest.mjs), else the pinned devDependency @anthropic-ai/claude-code.
 */
import { spawn } from "node:child_process";
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ccExecute, type ClaudeTaskEvent, type ClaudeTaskOptions, type ClaudeTaskResult, type StreamEvent } from "../../src/claude/index.js";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { markerHandler, startMessagesApi, type Handler, type MessagesApi } from "./messages-api.js";

const PINNED_CLI = fileURLToPath(new URL("../../node_modules/@anthropic-ai/claude-code/cli.js", import.meta.url));

/** The claude executable the real-CLI tests run. */
export function realClaudeBin(): string {
  const bin = process.env.CC_EXECUTOR_TEST_CLAUDE_BIN?.trim() || PINNED_CLI;
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    throw new Error(`real claude CLI not found or not executable: ${bin} (run \`npm ci\`, or set CC_EXECUTOR_TEST_CLAUDE_BIN to a claude binary)`);
  }
  return bin;
}

/**
 * Variables of the caller's environment that would change what the CLI does (another account,
 * another config dir, a sandbox flag that lifts the root check): the real-CLI tests run without
 * them, here as in CI.
 */
export const INHERITED_CLAUDE_VARIABLES = [
  "ANTHROPIC_API_KEY",
  "ANTHROPIC_AUTH_TOKEN",
  "ANTHROPIC_BASE_URL",
  "ANTHROPIC_MODEL",
  "ANTHROPIC_SMALL_FAST_MODEL",
  "CLAUDE_CODE_OAUTH_TOKEN",
  "CLAUDE_CONFIG_DIR",
  "CLAUDE_CODE_USE_BEDROCK",
  "CLAUDE_CODE_USE_VERTEX",
  "CLAUDE_CODE_MAX_RETRIES",
  "CLAUDE_CODE_BUBBLEWRAP",
  "CLAUDE_CODE_ENTRYPOINT",
  "CLAUDECODE",
  "IS_SANDBOX",
  "CLAUDE_BIN",
];

/** Removes INHERITED_CLAUDE_VARIABLES from this test process (each test file runs in its own). */
export function isolateFromCallerClaudeEnv(): void {
  for (const name of INHERITED_CLAUDE_VARIABLES) delete process.env[name];
}

export interface RealClaudeEnvOptions {
  /** Subscription-style auth (CLAUDE_CODE_OAUTH_TOKEN) instead of an API key: turns on usage-limit handling. */
  oauth?: boolean;
  /** CLAUDE_CODE_MAX_RETRIES for the CLI; unset leaves it to whoever runs claude (cc-executor sets it). */
  maxRetries?: number;
  /** A HOME to reuse (default: a fresh temp dir). */
  home?: string;
  /** Extra variables (win over the defaults). */
  extra?: Record<string, string>;
}

export interface RealClaudeEnv {
  /** The variables to run claude with (merged over process.env by whoever spawns it). */
  env: Record<string, string>;
  /** The temp HOME (claude's sessions and config go under it). */
  home: string;
  /** CLAUDE_BIN for cc-executor: the binary under test. */
  bin: string;
}

/** The environment for one real claude run against the double: temp HOME, no network, no telemetry. */
export function realClaudeEnv(api: MessagesApi, options: RealClaudeEnvOptions = {}): RealClaudeEnv {
  const home = options.home ?? mkdtempSync(join(tmpdir(), "cce-claude-home-"));
  mkdirSync(home, { recursive: true });
  const bin = realClaudeBin();
  const env: Record<string, string> = {
    HOME: home,
    CLAUDE_CONFIG_DIR: join(home, ".claude"),
    ANTHROPIC_BASE_URL: api.url,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_TELEMETRY: "1",
    DISABLE_AUTOUPDATER: "1",
    DISABLE_ERROR_REPORTING: "1",
    CLAUDE_BIN: bin,
    ...(options.oauth ? { CLAUDE_CODE_OAUTH_TOKEN: "sk-ant-oat01-test-double" } : { ANTHROPIC_API_KEY: "sk-ant-api03-test-double" }),
    ...(options.maxRetries !== undefined ? { CLAUDE_CODE_MAX_RETRIES: String(options.maxRetries) } : {}),
    ...options.extra,
  };
  return { env, home, bin };
}

export interface DirectRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout's JSON lines, parsed (non-JSON lines dropped). */
  lines: any[];
}

/** Runs the real claude directly (no cc-executor in between), for facts about the CLI itself. */
export function runClaudeDirect(args: string[], env: Record<string, string>, options: { cwd?: string; stdin?: string; timeoutMs?: number } = {}): Promise<DirectRun> {
  const child = spawn(realClaudeBin(), args, { cwd: options.cwd, env: { ...process.env, ...env }, stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
  if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`claude did not finish in ${options.timeoutMs ?? 60_000} ms: stdout=${stdout.slice(-2000)} stderr=${stderr.slice(-2000)}`));
    }, options.timeoutMs ?? 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      const lines = stdout
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .flatMap((l) => {
          try {
            return [JSON.parse(l)];
          } catch {
            return [];
          }
        });
      resolve({ code, stdout, stderr, lines });
    });
  });
}

export interface RealTaskRun {
  result: ClaudeTaskResult;
  events: ClaudeTaskEvent[];
  /** The task's working directory (a fresh temp dir unless given). */
  cwd: string;
}

/**
 * One ccExecute task against the real CLI and the double: fast retry delays, a temp cwd and state
 * dir, CLAUDE_CODE_MAX_RETRIES 1 unless the options say otherwise.
 */
export async function runRealTask(api: MessagesApi, prompt: string, options: ClaudeTaskOptions = {}, envOptions: RealClaudeEnvOptions = {}): Promise<RealTaskRun> {
  const { env, bin } = realClaudeEnv(api, envOptions);
  const cwd = options.cwd ?? mkdtempSync(join(tmpdir(), "cce-real-cwd-"));
  const events: ClaudeTaskEvent[] = [];
  const result = await ccExecute(prompt, {
    claudeBin: bin,
    home: mkdtempSync(join(tmpdir(), "cce-real-state-")),
    timeout: 60,
    apiRetries: 1,
    ...options,
    env: { ...env, ...options.env },
    cwd,
    retry: { baseDelayMs: 10, maxDelayMs: 50, ...options.retry },
    onEvent: (e) => events.push(e),
  });
  return { result, events, cwd };
}

/** The stream events of a run, in order (attempt given: only that attempt's). */
export function streamEvents(events: ClaudeTaskEvent[], attempt?: number): StreamEvent[] {
  return events.flatMap((e) => (e.type === "stream" && (attempt === undefined || e.attempt === attempt) ? [e.event] : []));
}

/** Whether a process is gone (or a zombie), read from /proc. */
export function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return /\) [ZX] /.test(stat);
  } catch {
    return true;
  }
}

/**
 * The Messages API double for a test file: started before its tests (the caller's own claude
 * settings set aside), `handler` (default: the scenario markers) restored before each test, closed after them. The
 * returned object stands for the double started in beforeAll (it exists only from then on).
 */
export function useMessagesApi(handler: Handler = markerHandler): MessagesApi {
  let current: MessagesApi | undefined;
  beforeAll(async () => {
    isolateFromCallerClaudeEnv();
    current = await startMessagesApi({ handler });
  });
  beforeEach(() => current!.setHandler(handler));
  afterAll(async () => {
    await current?.close();
  });
  return new Proxy({} as MessagesApi, {
    get(_target, prop) {
      if (!current) throw new Error("the Messages API double starts in beforeAll: use it inside tests and hooks");
      const value = Reflect.get(current, prop, current);
      return typeof value === "function" ? value.bind(current) : value;
    },
  });
}
