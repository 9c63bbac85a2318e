/*
 * fake-claude (used by the fast unit tests) emits only shapes the real CLI emits: for each of its
 * scenarios, the real CLI 2.1.112 is given the same situation by the double, and the lines that
 * decide our classification are compared (exit code, rate_limit_event, the CLI's own assistant
 * message and its error code, the result's subtype, is_error, api_error_status, terminal_reason,
 * errors, and its members).
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAKE_CLAUDE } from "../../helpers/fake-claude.js";
import { obedientAnswer, reply, startMessagesApi, type Handler, type MessagesApi } from "../../helpers/messages-api.js";
import { isolateFromCallerClaudeEnv, realClaudeEnv, runClaudeDirect, type DirectRun } from "../../helpers/real-claude.js";

interface Case {
  scenario: string;
  handler: Handler;
  args?: string[];
  oauth?: boolean;
}

const CASES: Case[] = [
  { scenario: "success", handler: (req) => obedientAnswer(req) },
  { scenario: "auth", handler: () => reply.auth() },
  { scenario: "rate_limit_once", handler: () => reply.rateLimit(0) },
  { scenario: "overloaded_once", handler: () => reply.overloaded() },
  { scenario: "prompt_too_long", handler: () => reply.promptTooLong() },
  { scenario: "billing", handler: () => reply.billing() },
  { scenario: "output_limit_once", handler: () => reply.maxTokens() },
  { scenario: "usage_limit", handler: () => reply.usageLimit(Math.floor(Date.now() / 1000) + 3600), oauth: true },
  { scenario: "max_turns", handler: () => reply.toolUse("Bash", { command: "true" }), args: ["--max-turns", "1", "--allowedTools", "Bash"] },
];

/** What our classification reads from a run. */
function signature(run: DirectRun) {
  const result = run.lines.find((l) => l.type === "result");
  const lastAssistant = run.lines.filter((l) => l.type === "assistant").at(-1);
  return {
    exit: run.code,
    rateLimitEvent: run.lines.find((l) => l.type === "rate_limit_event")?.rate_limit_info.status,
    assistantModel: lastAssistant?.message.model === "<synthetic>" ? "<synthetic>" : "model",
    assistantError: lastAssistant?.error,
    // the CLI's own words (a model's answer is whatever the model said)
    cliText: lastAssistant?.message.model === "<synthetic>" ? String(lastAssistant.message.content[0]?.text ?? "").replace(/resets .*/, "resets …").slice(0, 60) : undefined,
    result: result && {
      subtype: result.subtype,
      is_error: result.is_error,
      api_error_status: result.api_error_status,
      terminal_reason: result.terminal_reason,
      errors: result.errors,
      hasResultText: "result" in result,
    },
  };
}

function runFake(scenario: string, args: string[], cwd: string): Promise<DirectRun> {
  const child = spawn(FAKE_CLAUDE, args, { cwd, env: { ...process.env, FAKE_CLAUDE_SCENARIO: scenario }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr, lines: stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)) })),
  );
}

describe.skipIf(Boolean(process.env.CC_EXECUTOR_TEST_CLAUDE_BIN))("fake-claude emits what the real CLI 2.1.112 emits", () => {
  let api: MessagesApi;
  beforeAll(async () => {
    isolateFromCallerClaudeEnv();
    api = await startMessagesApi();
  });
  afterAll(async () => {
    await api.close();
  });

  it.each(CASES)("$scenario", async ({ scenario, handler, args = [], oauth }) => {
    api.setHandler(handler);
    const cwd = mkdtempSync(join(tmpdir(), "cce-parity-"));
    const argv = ["-p", "--output-format", "stream-json", "--verbose", ...args, "--", `parity ${scenario}`];
    const real = await runClaudeDirect(argv, realClaudeEnv(api, { oauth, maxRetries: 0 }).env, { cwd });
    const fake = await runFake(scenario, argv, cwd);
    expect(signature(fake)).toEqual(signature(real));
    // every member of the fake's result exists in the real one
    const realResult = real.lines.find((l) => l.type === "result");
    const fakeResult = fake.lines.find((l) => l.type === "result");
    expect(Object.keys(realResult)).toEqual(expect.arrayContaining(Object.keys(fakeResult)));
  });
});
