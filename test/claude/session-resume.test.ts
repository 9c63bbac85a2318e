/*
 * Retries that continue the worker's Claude session, and task budgets, in the claude runner
 * (fake-claude: what we send and decide; test/claude/real/session-resume.test.ts: what the real CLI does).
 */
import { describe, expect, it } from "vitest";
import { ccExecute, type ClaudeTaskEvent, type ClaudeTaskOptions } from "../../src/claude/index.js";
import { FAKE_CLAUDE, fakeClaude } from "../helpers/fake-claude.js";

async function run(scenario: string, options: ClaudeTaskOptions = {}, prompt = "Create hello.py that prints hi") {
  const fc = fakeClaude(scenario);
  const events: ClaudeTaskEvent[] = [];
  const result = await ccExecute(prompt, { home: fc.home, claudeBin: FAKE_CLAUDE, env: fc.env, retry: { baseDelayMs: 10, maxDelayMs: 50 }, onEvent: (e) => events.push(e), ...options });
  return { result, events, calls: fc.calls(), fc };
}
const argOf = (argv: string[], flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);

describe("retries continue the failed attempt's Claude session", () => {
  it("missing UUID after real work: attempt 2 is `--resume <session>` with a short continue-and-finish prompt that keeps the UUID instruction", async () => {
    const { result, calls, events } = await run("missing_uuid_once");
    expect(result).toMatchObject({ success: true, uuid_verified: true, attempts: 2 });
    expect(argOf(calls[0]!.argv, "--resume")).toBeUndefined();
    expect(argOf(calls[1]!.argv, "--resume")).toBe(calls[0]!.session_id);
    const prompt = calls[1]!.prompt;
    expect(prompt).toMatch(/^Your previous run of this task stopped before it was finished \(uuid_verification_failed: /);
    expect(prompt).toContain(result.execution_uuid!);
    expect(prompt).not.toContain("Create hello.py"); // the session has the task already
    expect(result.session_id).toBe(calls[0]!.session_id); // one session throughout
    expect(result.session_resumes).toEqual([{ attempt: 2, session_id: calls[0]!.session_id, reason: expect.stringMatching(/^uuid_verification_failed: /), resumed: true }]);
    expect(events.filter((e) => e.type === "session")).toMatchObject([{ attempt: 2, sessionId: calls[0]!.session_id, resumed: true }]);
  });

  it("continueSessions false: every attempt starts afresh", async () => {
    const { result, calls } = await run("missing_uuid_once", { continueSessions: false });
    expect(result).toMatchObject({ success: true, attempts: 2 });
    expect(calls.map((c) => argOf(c.argv, "--resume"))).toEqual([undefined, undefined]);
    expect(calls[1]!.prompt).toContain("Create hello.py");
    expect(result.session_resumes).toBeUndefined();
  });

  it("an output-token limit continues the session (with the concise instruction); prompt too long is not retried", async () => {
    const limit = await run("output_limit_once");
    expect(limit.result).toMatchObject({ success: true, attempts: 2 });
    expect(argOf(limit.calls[1]!.argv, "--resume")).toBe(limit.calls[0]!.session_id);
    expect(limit.calls[1]!.prompt).toMatch(/concise/i);
    const tooLong = await run("prompt_too_long");
    expect(tooLong.result).toMatchObject({ success: false, error_type: "prompt_too_long", attempts: 1 });
  });

  it("a session the CLI cannot continue (unknown to it): the attempt starts afresh at once, and the result and an event say so", async () => {
    const { result, calls, events } = await run("success", { resumeSession: { sessionId: "0b9c2f4e-5f1a-4c3e-9d7b-1a2b3c4d5e6f", reason: "timeout: timed out" }, retry: { maxAttempts: 1 } });
    expect(result).toMatchObject({ success: true, uuid_verified: true, attempts: 2 });
    expect(calls).toHaveLength(1); // the refused call records nothing; the fresh start does
    expect(argOf(calls[0]!.argv, "--resume")).toBeUndefined();
    expect(calls[0]!.prompt).toContain("Create hello.py");
    const fallback = { attempt: 1, session_id: "0b9c2f4e-5f1a-4c3e-9d7b-1a2b3c4d5e6f", reason: "timeout: timed out", resumed: false, fallback: "No conversation found with session ID: 0b9c2f4e-5f1a-4c3e-9d7b-1a2b3c4d5e6f" };
    expect(result.session_resumes).toEqual([fallback]);
    expect(events.filter((e) => e.type === "session")).toMatchObject([
      { attempt: 1, resumed: true },
      { attempt: 1, resumed: false, fallback: fallback.fallback },
    ]);
  });

  it("a session id that is not one (it would be read as a flag after --resume) is not passed on: a fresh start, said so", async () => {
    const { result, calls } = await run("success", { resumeSession: { sessionId: "--dangerously-skip-permissions", reason: "crash" } });
    expect(result).toMatchObject({ success: true, attempts: 1 });
    expect(calls[0]!.argv).not.toContain("--resume");
    expect(calls[0]!.argv).not.toContain("--dangerously-skip-permissions");
    expect(result.session_resumes).toEqual([{ attempt: 1, session_id: "--dangerously-skip-permissions", reason: "crash", resumed: false, fallback: "not a Claude session id" }]);
  });
});

describe("task budgets", () => {
  it("--max-cost goes to the CLI as --max-budget-usd, less what earlier attempts spent", async () => {
    const { result, calls } = await run("missing_uuid_once", { maxCostUsd: 0.05 });
    expect(result).toMatchObject({ success: true, attempts: 2, cost_usd: 0.0246 });
    expect(calls.map((c) => argOf(c.argv, "--max-budget-usd"))).toEqual(["0.05", "0.0377"]);
  });

  it("the CLI stopping at its budget (error_max_budget_usd) is budget_exceeded, not retried", async () => {
    const { result, calls } = await run("over_budget", { maxCostUsd: 0.01 });
    expect(result).toMatchObject({ success: false, error_type: "budget_exceeded", attempts: 1, cost_usd: 0.0123 });
    expect(result.message).toContain("Reached maximum budget ($0.01)");
    expect(calls).toHaveLength(1);
  });

  it("no attempt starts once the task's budget is spent", async () => {
    const { result, calls } = await run("missing_uuid_always", { maxCostUsd: 0.02 });
    expect(calls).toHaveLength(2); // $0.0123 each: the third would start with nothing left
    expect(result).toMatchObject({ success: false, error_type: "budget_exceeded", attempts: 2, cost_usd: 0.0246 });
    expect(result.message).toBe("the task's budget of $0.02 is spent ($0.0246)");
  });

  it("--max-tokens: a run past its tokens (as the stream reports them) is stopped; its tokens are counted from the stream", async () => {
    // fake-claude's messages report 10 + 5 + 2168 cache tokens each: the second message passes 3000
    const { result } = await run("slow", { maxTokens: 3000 });
    expect(result).toMatchObject({ success: false, error_type: "budget_exceeded", attempts: 1 });
    expect(result.message).toMatch(/token budget ran out: \d+ tokens used of the 3000 left/);
    const used = result.usage.input_tokens + result.usage.output_tokens + result.usage.cache_read_input_tokens + result.usage.cache_creation_input_tokens;
    expect(used).toBeGreaterThan(3000);
  });
});
