import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildClaudeArgv, ccExecute, decideRetry, DEFAULT_RETRY, extractJsonResult, resolveClaudeBinary, startClaudeTask, type ClaudeTaskEvent, type ClaudeTaskOptions } from "../../src/claude/index.js";
import { liveSleeps, waitUntil } from "../helpers/procs.js";
import { FAKE_CLAUDE, fakeClaude } from "../helpers/fake-claude.js";

async function run(scenario: string, options: ClaudeTaskOptions = {}, prompt = "Create hello.py that prints hi", extraEnv: Record<string, string> = {}) {
  const fc = fakeClaude(scenario, extraEnv);
  const events: ClaudeTaskEvent[] = [];
  const result = await ccExecute(prompt, { home: fc.home, claudeBin: FAKE_CLAUDE, env: fc.env, retry: { baseDelayMs: 10, maxDelayMs: 50 }, onEvent: (e) => events.push(e), ...options });
  return { result, events, calls: fc.calls() };
}

describe("ccExecute against fake-claude", () => {
  it("success: verified UUID, usage, cost, turns, session, transcript and result files", async () => {
    const { result, calls } = await run("success");
    expect(result).toMatchObject({ success: true, uuid_verified: true, attempts: 1, num_turns: 3, cost_usd: 0.0123, usage: { input_tokens: 1500, output_tokens: 420 } });
    expect(result.session_id).toMatch(/-/);
    expect(result.result).toBe("Completed: Create hello.py that prints hi");
    expect(result.result).not.toContain(result.execution_uuid!);
    expect(calls[0]!.prompt).toContain(result.execution_uuid!);
    const transcript = readFileSync(result.transcript_path, "utf8").trim().split("\n");
    expect(JSON.parse(transcript[0]!).subtype).toBe("init");
    expect(JSON.parse(transcript.at(-1)!).type).toBe("result");
    expect(JSON.parse(readFileSync(result.result_path, "utf8"))).toMatchObject({ success: true, execution_id: result.execution_id });
  });

  it("JSON mode: parses the object (plain, structured output, or fenced in prose)", async () => {
    for (const scenario of ["json", "json_fenced"]) {
      const { result, calls } = await run(scenario, { json: true });
      expect(result).toMatchObject({ success: true, uuid_verified: true, files_created: ["output.txt"], files_modified: [], summary: expect.stringContaining("Did what was asked") });
      expect(calls[0]!.argv).toContain("--json-schema");
    }
  });

  it("missing UUID once: retried, then verified", async () => {
    const { result, events } = await run("missing_uuid_once");
    expect(result).toMatchObject({ success: true, uuid_verified: true, attempts: 2 });
    expect(events.some((e) => e.type === "error" && e.failure.error_type === "uuid_verification_failed")).toBe(true);
  });

  it("missing UUID always: fails after 3 attempts with uuid_verification_failed", async () => {
    const { result, calls } = await run("missing_uuid_always");
    expect(result).toMatchObject({ success: false, error_type: "uuid_verification_failed", attempts: 3, uuid_verified: false });
    expect(calls).toHaveLength(3);
  });

  it("--no-uuid: no instruction, no check", async () => {
    const { result, calls } = await run("missing_uuid_always", { uuid: false });
    expect(result).toMatchObject({ success: true, uuid_verified: false, execution_uuid: null });
    expect(calls[0]!.prompt).toBe("Create hello.py that prints hi");
  });

  it("429 then success, 529 then success: backoff retries", async () => {
    for (const [scenario, type] of [["rate_limit_once", "rate_limit"], ["overloaded_once", "overloaded"]] as const) {
      const { result, events } = await run(scenario);
      expect(result).toMatchObject({ success: true, attempts: 2 });
      expect(events.find((e) => e.type === "error")).toMatchObject({ failure: { error_type: type, recoverable: true } });
      expect(events.find((e) => e.type === "retry")).toMatchObject({ attempt: 1 });
    }
  });

  it("output-token limit: retried with a concise instruction", async () => {
    const { result, calls } = await run("output_limit_once");
    expect(result).toMatchObject({ success: true, attempts: 2 });
    expect(calls[0]!.prompt).not.toMatch(/concise/i);
    expect(calls[1]!.prompt).toMatch(/concise/i);
  });

  it("usage limit: fails fast with the reset time; with waitOnLimit it waits for the reset", async () => {
    const fast = await run("usage_limit", {}, "x", { FAKE_CLAUDE_RESET_IN: "3600" });
    expect(fast.result).toMatchObject({ success: false, error_type: "usage_limit", attempts: 1 });
    expect(fast.result.reset_timestamp).toBeGreaterThan(Date.now() / 1000 + 3000);
    expect(fast.result.message).toMatch(/resets at \d{4}-\d\d-\d\dT/);
    const fc = fakeClaude("usage_limit", { FAKE_CLAUDE_RESET_IN: "-4" });
    const events: ClaudeTaskEvent[] = [];
    const waited = await ccExecute("x", { home: fc.home, claudeBin: FAKE_CLAUDE, env: fc.env, retry: { waitOnLimit: true, maxAttempts: 2 }, onEvent: (e) => events.push(e) });
    expect(events.some((e) => e.type === "waiting_for_limit")).toBe(true);
    expect(waited.attempts).toBe(2);
  });

  it("no blind retry for auth failure and prompt too long; clear messages", async () => {
    const auth = await run("auth");
    expect(auth.result).toMatchObject({ success: false, error_type: "auth", attempts: 1 });
    expect(auth.result.message).toMatch(/login/i);
    const long = await run("prompt_too_long");
    expect(long.result).toMatchObject({ success: false, error_type: "prompt_too_long", attempts: 1 });
  });

  it("max turns, crash mid-stream, permission denials", async () => {
    const turns = await run("max_turns", { maxTurns: 2 });
    expect(turns.result).toMatchObject({ success: false, error_type: "max_turns", attempts: 1 });
    expect(turns.result.message).toMatch(/--max-turns 2\b/);
    const crash = await run("crash", { retry: { maxAttempts: 2, baseDelayMs: 1 } });
    expect(crash.result).toMatchObject({ success: false, error_type: "crash", attempts: 2 });
    expect(crash.result.message).toMatch(/fake crash/);
    const denied = await run("permission_denied");
    expect(denied.result.success).toBe(true);
    expect(denied.result.permission_denials).toEqual([{ tool_name: "Bash", tool_input: { command: "rm -rf build" } }]);
  });

  it("hang: the timeout kills the group and reports timeout", async () => {
    const { result } = await run("hang", { timeout: 1, retry: { maxAttempts: 1 } });
    expect(result).toMatchObject({ success: false, error_type: "timeout" });
  });

  it("cancel kills the claude process group", async () => {
    const fc = fakeClaude("hang");
    const task = startClaudeTask("x", { home: fc.home, claudeBin: FAKE_CLAUDE, env: fc.env });
    await waitUntil(() => fc.calls().length === 1, 10_000, "claude started");
    const pid = fc.calls()[0]!.pid;
    const result = await task.cancel();
    expect(result).toMatchObject({ success: false, error_type: "canceled" });
    expect(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z")).toBe(false);
  });

  it("huge output is parsed without keeping it all", async () => {
    const { result, events } = await run("huge", {}, "big", { FAKE_CLAUDE_HUGE_MB: "20" });
    expect(result.success).toBe(true);
    expect(events.filter((e) => e.type === "stream" && e.event.kind === "assistant_text").length).toBeGreaterThan(300);
  });

  it("a missing binary is a clear error naming CLAUDE_BIN and PATH", async () => {
    const fc = fakeClaude();
    const missing = await ccExecute("x", { home: fc.home, env: { CLAUDE_BIN: "/nonexistent/claude" } });
    expect(missing).toMatchObject({ success: false, error_type: "binary_not_found" });
    expect(missing.message).toMatch(/CLAUDE_BIN=\/nonexistent\/claude/);
    const onPath = await ccExecute("x", { home: fc.home, env: { CLAUDE_BIN: "", PATH: "/nonexistent" } });
    expect(onPath.message).toMatch(/CLAUDE_BIN is not set and no `claude` on PATH/);
  });

  it("claude on PATH: the user's own comes before the one this package pins for its tests (npx puts node_modules/.bin first)", () => {
    const ownBin = join(import.meta.dirname, "..", "..", "node_modules", ".bin");
    expect(existsSync(join(ownBin, "claude"))).toBe(true);
    const userBin = mkdtempSync(join(tmpdir(), "cce-userbin-"));
    writeFileSync(join(userBin, "claude"), "#!/bin/sh\n", { mode: 0o755 });
    expect(resolveClaudeBinary({ PATH: `${ownBin}:${userBin}` })).toBe(join(userBin, "claude"));
    expect(resolveClaudeBinary({ PATH: `${ownBin}:/nonexistent` })).toBe(join(ownBin, "claude")); // the only one: used
  });

  it("ANTHROPIC_API_KEY is passed on or stripped as configured", async () => {
    const inherit = await run("success", {}, "x", { ANTHROPIC_API_KEY: "sk-test" });
    expect(inherit.calls[0]!.env_has_api_key).toBe(true);
    const strip = await run("success", { apiKeyMode: "strip" }, "x", { ANTHROPIC_API_KEY: "sk-test" });
    expect(strip.calls[0]!.env_has_api_key).toBe(false);
  });

  it("hostile prompts reach claude byte-for-byte", async () => {
    const hostile = [`"; rm -rf / #`, "$(touch /tmp/pwned-cce)", "`id`", "line1\nline2\n\ttab", "--model opus -p", "-leading dash", "naïve 日本語 😀 \u202e", "'single' \"double\" \\back\\slash"];
    for (const prompt of hostile) {
      const { calls } = await run("success", { uuid: false }, prompt);
      expect(calls[0]!.prompt).toBe(prompt);
    }
    expect(existsSync("/tmp/pwned-cce")).toBe(false);
  });

  it("argv: options first, then -- and the prompt as one element", () => {
    const argv = buildClaudeArgv("hi", { model: "sonnet", maxTurns: 30, tools: ["Read", "Write", "Bash"], disallowedTools: ["WebFetch"], appendSystemPrompt: "be brief", mcpConfig: "mcp.json", permissionMode: "acceptEdits" });
    expect(argv).toEqual(["-p", "--output-format", "stream-json", "--verbose", "--model", "sonnet", "--max-turns", "30", "--allowedTools", "Read,Write,Bash", "--disallowedTools", "WebFetch", "--append-system-prompt", "be brief", "--mcp-config", "mcp.json", "--permission-mode", "acceptEdits", "--", "hi"]);
  });

  it("a claude that refuses its flags at startup fails once, loudly, with its own message", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cce-badclaude-"));
    const bin = join(dir, "claude");
    writeFileSync(bin, "#!/bin/sh\necho 'Error: When using --print, --output-format=stream-json requires --verbose' >&2\nexit 1\n");
    chmodSync(bin, 0o755);
    const r = await ccExecute("x", { home: join(dir, "home"), claudeBin: bin });
    expect(r).toMatchObject({ success: false, error_type: "startup_error", attempts: 1 });
    expect(r.message).toMatch(/requires --verbose/);
  });
});

describe("extractJsonResult", () => {
  const obj = { result: "r", summary: "s", files_created: ["a"], files_modified: [], execution_uuid: "u" };
  it("finds the object plain, fenced, or in prose", () => {
    expect(extractJsonResult(JSON.stringify(obj))).toMatchObject({ ok: true, value: obj });
    expect(extractJsonResult("Sure!\n```json\n" + JSON.stringify(obj) + "\n```\nBye")).toMatchObject({ ok: true, value: obj });
    expect(extractJsonResult(`The answer is ${JSON.stringify(obj)} as requested {not json}`)).toMatchObject({ ok: true, value: obj });
  });
  it("reports invalid or wrongly shaped JSON with the raw text", () => {
    expect(extractJsonResult("no json here")).toMatchObject({ ok: false, raw: "no json here" });
    const wrong = extractJsonResult('{"result": 42}');
    expect(wrong).toMatchObject({ ok: false });
    expect(!wrong.ok && wrong.error).toMatch(/result/);
  });
});

describe("decideRetry", () => {
  const cfg = { ...DEFAULT_RETRY, baseDelayMs: 1000, maxDelayMs: 10_000 };
  it("backs off exponentially with jitter for 429/529, honours retry-after, stops at maxAttempts", () => {
    expect(decideRetry({ error_type: "rate_limit" }, 1, cfg, { conciseSteps: 0, random: () => 0 })).toEqual({ action: "retry", delayMs: 500, reason: expect.any(String) });
    expect(decideRetry({ error_type: "overloaded" }, 2, cfg, { conciseSteps: 0, random: () => 1 })).toMatchObject({ action: "retry", delayMs: 2000 });
    expect(decideRetry({ error_type: "rate_limit", retry_after: 7 }, 1, cfg, { conciseSteps: 0 })).toMatchObject({ delayMs: 7000 });
    expect(decideRetry({ error_type: "rate_limit" }, 3, cfg, { conciseSteps: 0 })).toEqual({ action: "fail" });
  });
  it("concise retries at most twice; no retry for auth or prompt too long", () => {
    expect(decideRetry({ error_type: "output_token_limit" }, 1, cfg, { conciseSteps: 0 })).toMatchObject({ action: "retry", concise: 1 });
    expect(decideRetry({ error_type: "output_token_limit" }, 2, cfg, { conciseSteps: 1 })).toMatchObject({ action: "retry", concise: 2 });
    expect(decideRetry({ error_type: "output_token_limit" }, 2, { ...cfg, maxAttempts: 5 }, { conciseSteps: 2 })).toEqual({ action: "fail" });
    expect(decideRetry({ error_type: "auth" }, 1, cfg, { conciseSteps: 0 })).toEqual({ action: "fail" });
    expect(decideRetry({ error_type: "prompt_too_long" }, 1, cfg, { conciseSteps: 0 })).toEqual({ action: "fail" });
  });
  it("usage limit: wait until the reset only when asked and within the maximum wait", () => {
    const now = 1_000_000_000_000;
    expect(decideRetry({ error_type: "usage_limit", reset_timestamp: now / 1000 + 60 }, 1, cfg, { conciseSteps: 0, now })).toEqual({ action: "fail" });
    expect(decideRetry({ error_type: "usage_limit", reset_timestamp: now / 1000 + 60 }, 1, { ...cfg, waitOnLimit: true }, { conciseSteps: 0, now })).toMatchObject({ action: "wait_until", untilEpochMs: now + 65_000 });
    expect(decideRetry({ error_type: "usage_limit", reset_timestamp: now / 1000 + 86_400 }, 1, { ...cfg, waitOnLimit: true }, { conciseSteps: 0, now })).toEqual({ action: "fail" });
  });
});
void liveSleeps;
