/*
 * Continued sessions and task budgets with the real claude CLI against the Messages API double:
 * what the CLI really sends when cc-executor continues a session, what it does when it cannot,
 * and how it stops at --max-budget-usd.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { userText } from "../../helpers/messages-api.js";
import { useMessagesApi, realClaudeEnv, runRealTask } from "../../helpers/real-claude.js";
import { forgetSessions, scriptedWorker } from "../../helpers/scripted-worker.js";

describe("real claude CLI: retries continue the session; task budgets", () => {
  const api = useMessagesApi(scriptedWorker());
  const callsOf = (sessionId: string | null) => api.messageRequests().filter((r) => r.sessionId === sessionId);

  it("a missing UUID: the retry continues the session — the resumed request carries the earlier turns and the continue prompt with the UUID", { timeout: 180_000 }, async () => {
    const { result } = await runRealTask(api, "Summarize the repository\nSCRIPT: no-uuid-once");
    expect(result).toMatchObject({ success: true, uuid_verified: true, attempts: 2, result: "Finished after continuing the session" });
    const calls = callsOf(result.session_id);
    expect(calls).toHaveLength(2); // one session (the CLI keeps its id on --resume), two processes
    const resumed = calls[1]!;
    expect(resumed.turns.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(resumed.prompt).toContain("Summarize the repository"); // the first turn, replayed
    expect(JSON.stringify(resumed.turns[1]!.content)).toContain("All done (but no UUID)"); // the first answer, replayed
    const last = userText(resumed.turns.at(-1));
    expect(last).toMatch(/^Your previous run of this task stopped before it was finished \(uuid_verification_failed: /);
    expect(last).toContain(result.execution_uuid!);
    expect(result.session_resumes).toEqual([{ attempt: 2, session_id: result.session_id, reason: expect.any(String), resumed: true }]);
  });

  it("a session the CLI cannot continue (its file is gone): the attempt starts afresh and says so", { timeout: 180_000 }, async () => {
    const { env, home } = realClaudeEnv(api);
    const cwd = mkdtempSync(join(tmpdir(), "cce-real-cwd-"));
    const { result } = await runRealTask(api, "Do the work", { cwd, retry: { maxAttempts: 1 } }, { home });
    expect(result).toMatchObject({ success: true });
    const first = result.session_id!;
    // deleted once that claude has exited (2.1.333 writes the file with a delay, also after a delete)
    expect(forgetSessions(env.CLAUDE_CONFIG_DIR!).map((f) => basename(f))).toContain(`${first}.jsonl`);
    // continue it in the same directory, as a task list's retry or resume would: only the file is missing
    const again = await runRealTask(api, "Do the work (again)", { cwd, resumeSession: { sessionId: first, reason: "timeout: timed out" }, retry: { maxAttempts: 1 } }, { home });
    expect(again.result).toMatchObject({ success: true, uuid_verified: true, attempts: 2 });
    expect(again.result.session_resumes).toEqual([{ attempt: 1, session_id: first, reason: "timeout: timed out", resumed: false, fallback: `No conversation found with session ID: ${first}` }]);
    expect(again.result.session_id).not.toBe(first);
    const fresh = callsOf(again.result.session_id);
    expect(fresh).toHaveLength(1);
    expect(fresh[0]!.turns).toHaveLength(1); // nothing replayed: a fresh start with the task's own prompt
    expect(fresh[0]!.prompt).toContain("Do the work (again)");
  });

  it("a session saved in another directory: 2.1.112 refuses it (a fresh start), 2.1.333 continues it there; either way the result says which", { timeout: 180_000 }, async () => {
    const { home } = realClaudeEnv(api);
    const before = await runRealTask(api, "Write the notes", { retry: { maxAttempts: 1 } }, { home });
    expect(before.result).toMatchObject({ success: true });
    const first = before.result.session_id!;
    const elsewhere = await runRealTask(api, "Write the notes (again)", { resumeSession: { sessionId: first, reason: "timeout: timed out" }, retry: { maxAttempts: 1 } }, { home });
    expect(elsewhere.cwd).not.toBe(before.cwd);
    expect(elsewhere.result).toMatchObject({ success: true, uuid_verified: true });
    const call = callsOf(elsewhere.result.session_id).at(-1)!;
    const continued = call.turns.length > 1; // what the CLI did, read from what it sent
    expect(elsewhere.result.session_resumes).toEqual([
      continued
        ? { attempt: 1, session_id: first, reason: "timeout: timed out", resumed: true }
        : { attempt: 1, session_id: first, reason: "timeout: timed out", resumed: false, fallback: `No conversation found with session ID: ${first}` },
    ]);
    if (continued) {
      // the same session, the earlier turns replayed, the CLI telling the model where it works now
      expect(elsewhere.result).toMatchObject({ attempts: 1, session_id: first });
      expect(call.prompt).toContain("Write the notes");
      expect(userText(call.turns.at(-1))).toMatch(/^Your previous run of this task stopped before it was finished \(timeout: timed out\)/);
      expect(call.workingDirectory).toBe(elsewhere.cwd);
    } else {
      expect(elsewhere.result.attempts).toBe(2);
      expect(call.turns).toHaveLength(1);
      expect(call.prompt).toContain("Write the notes (again)");
    }
  });

  it("--max-cost: the CLI gets --max-budget-usd, stops past it (error_max_budget_usd), and that is budget_exceeded", { timeout: 180_000 }, async () => {
    // The double's usage is the same on every call (1200 in / 40 out), so every call costs the same;
    // the price is the CLI's own for its default model (2.1.112: sonnet-4-6, $0.0042 a call, stops
    // after 3 calls; 2.1.333: opus-5-5, $0.0056, after 2), read back from the cost it reports.
    const { result, events } = await runRealTask(api, "Run the steps\nSCRIPT: steps", { maxCostUsd: 0.01, tools: ["Bash"] });
    expect(result).toMatchObject({ success: false, error_type: "budget_exceeded", attempts: 1 });
    expect(result.message).toContain("Reached maximum budget ($0.01)");
    const argv = (events.find((e) => e.type === "attempt_started") as { argv: string[] }).argv;
    expect(argv.slice(argv.indexOf("--max-budget-usd"), argv.indexOf("--max-budget-usd") + 2)).toEqual(["--max-budget-usd", "0.01"]);
    const calls = callsOf(result.session_id).length;
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(calls).toBeLessThan(6); // without the budget the script makes 6 calls (5 tool steps, then the answer)
    const perCall = result.cost_usd / calls;
    // the CLI stops after the call that passed $0.01, not earlier and not later
    expect((calls - 1) * perCall).toBeLessThan(0.01);
    expect(result.cost_usd).toBeGreaterThan(0.01);
    // tokens of every call, not only the last (the CLI's usage field holds the last turn here)
    expect(result.usage.input_tokens).toBe(calls * 1200);
  });
});
