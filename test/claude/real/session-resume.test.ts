/*
 * Continued sessions and task budgets with the real claude CLI against the Messages API double:
 * what the CLI really sends when cc-executor continues a session, what it does when it cannot,
 * and how it stops at --max-budget-usd.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMessagesApi, userText, type MessagesApi } from "../../helpers/messages-api.js";
import { isolateFromCallerClaudeEnv, realClaudeEnv, runRealTask } from "../../helpers/real-claude.js";
import { scriptedWorker } from "../../helpers/scripted-worker.js";

describe("real claude CLI: retries continue the session; task budgets", () => {
  let api: MessagesApi;
  let configDir = "";
  beforeAll(async () => {
    isolateFromCallerClaudeEnv();
    api = await startMessagesApi({ handler: scriptedWorker({ claudeConfigDir: () => configDir }) });
  });
  afterAll(async () => {
    await api.close();
  });
  const callsOf = (sessionId: string | null) => api.messageRequests().filter((r) => r.sessionId === sessionId);

  it("a missing UUID: the retry continues the session — the resumed request carries the earlier turns and the continue prompt with the UUID", { timeout: 180_000 }, async () => {
    const { result } = await runRealTask(api, "Summarize the repository\nSCRIPT: no-uuid-once");
    expect(result).toMatchObject({ success: true, uuid_verified: true, attempts: 2, result: "Finished after continuing the session" });
    const calls = callsOf(result.session_id);
    expect(calls).toHaveLength(2); // one session (the CLI keeps its id on --resume), two processes
    const resumed = calls[1]!;
    const roles = resumed.messages.map((m) => m.role);
    expect(roles.slice(0, 2)).toEqual(["user", "assistant"]);
    expect(resumed.prompt).toContain("Summarize the repository"); // the first turn, replayed
    expect(JSON.stringify(resumed.messages[1]!.content)).toContain("All done (but no UUID)"); // the first answer, replayed
    const last = userText(resumed.messages.at(-1));
    expect(last).toMatch(/^Your previous run of this task stopped before it was finished \(uuid_verification_failed: /);
    expect(last).toContain(result.execution_uuid!);
    expect(result.session_resumes).toEqual([{ attempt: 2, session_id: result.session_id, reason: expect.any(String), resumed: true }]);
  });

  it("a session the CLI cannot continue (its file is gone): the attempt starts afresh and says so", { timeout: 180_000 }, async () => {
    const { env } = realClaudeEnv(api);
    configDir = env.CLAUDE_CONFIG_DIR!;
    const { result } = await runRealTask(api, "Do the work\nSCRIPT: forget-then-stall", { timeout: 15, retry: { maxAttempts: 1 } }, { home: env.HOME });
    expect(result).toMatchObject({ success: false, error_type: "timeout" });
    const first = result.session_id!;
    // continue it, as a task list's retry or resume would
    const again = await runRealTask(api, "Do the work (again)", { resumeSession: { sessionId: first, reason: "timeout: timed out" }, retry: { maxAttempts: 1 } }, { home: env.HOME });
    expect(again.result).toMatchObject({ success: true, uuid_verified: true, attempts: 2 });
    expect(again.result.session_resumes).toEqual([{ attempt: 1, session_id: first, reason: "timeout: timed out", resumed: false, fallback: `No conversation found with session ID: ${first}` }]);
    const fresh = callsOf(again.result.session_id);
    expect(fresh).toHaveLength(1);
    expect(fresh[0]!.messages).toHaveLength(1); // nothing replayed: a fresh start with the task's own prompt
    expect(fresh[0]!.prompt).toContain("Do the work (again)");
  });

  it("--max-cost: the CLI gets --max-budget-usd, stops past it (error_max_budget_usd), and that is budget_exceeded", { timeout: 180_000 }, async () => {
    // each call costs about $0.0042 with the double's usage (1200 in / 40 out at the CLI's sonnet price)
    const { result, events } = await runRealTask(api, "Run the steps\nSCRIPT: steps", { maxCostUsd: 0.01, tools: ["Bash"] });
    expect(result).toMatchObject({ success: false, error_type: "budget_exceeded", attempts: 1 });
    expect(result.message).toContain("Reached maximum budget ($0.01)");
    const argv = (events.find((e) => e.type === "attempt_started") as { argv: string[] }).argv;
    expect(argv.slice(argv.indexOf("--max-budget-usd"), argv.indexOf("--max-budget-usd") + 2)).toEqual(["--max-budget-usd", "0.01"]);
    expect(callsOf(result.session_id)).toHaveLength(3); // $0.0042 each: the CLI stops after the call that passed $0.01
    expect(result.cost_usd).toBeGreaterThan(0.01);
    // tokens of every call, not only the last (the CLI's usage field holds the last turn here)
    expect(result.usage.input_tokens).toBe(3 * 1200);
  });
});
