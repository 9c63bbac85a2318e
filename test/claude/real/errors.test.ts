/*
 * Each failure as the real claude CLI reports it (the double sends it as the API does), how we
 * classify it, and what we retry.
 */
import { describe, expect, it } from "vitest";
import { obedientAnswer, reply, uuidIn } from "../../helpers/messages-api.js";
import { useMessagesApi, processGone, runRealTask, streamEvents } from "../../helpers/real-claude.js";

describe("real claude CLI: failures, classification and retries", () => {
  const api = useMessagesApi();
  const callsWith = (marker: string) => api.messageRequests().filter((r) => r.prompt.includes(marker));

  it("401: auth, not retried by us; the CLI retried exactly as often as we told it (CLAUDE_CODE_MAX_RETRIES)", async () => {
    const { result, events } = await runRealTask(api, "[api:auth] task A", { apiRetries: 2 });
    expect(result).toMatchObject({ success: false, error_type: "auth", attempts: 1 });
    expect(result.message).toMatch(/Invalid API key/);
    expect(callsWith("task A")).toHaveLength(3);
    expect(streamEvents(events).filter((e) => e.kind === "api_retry").map((e) => (e as { status: number }).status)).toEqual([401, 401]);
  });

  it("a permanent 401 fails as auth within the timeout instead of being cut by it (the CLI's own 10 retries take ~3 min)", async () => {
    const started = Date.now();
    const { result } = await runRealTask(api, "[api:auth] task B", { timeout: 25, apiRetries: 2 });
    expect(result).toMatchObject({ success: false, error_type: "auth" });
    expect(Date.now() - started).toBeLessThan(25_000);
  });

  it("a timeout while the CLI is still retrying a 429 is reported as rate_limit, not as timeout", async () => {
    // retry-after 3 s, 10 retries: the CLI would go on for 30 s
    const { result } = await runRealTask(api, "[api:rate_limit:3] task C", { timeout: 15, apiRetries: 10, retry: { maxAttempts: 1 } });
    expect(result).toMatchObject({ success: false, error_type: "rate_limit" });
    expect(result.message).toMatch(/still retrying it \(\d+ retries\) when its timeout ended the run/);
  });

  it("429 with retry-after: the CLI waits as told, gives up, we back off and retry in a fresh process", async () => {
    const { result, events } = await runRealTask(api, "[api:rate_limit:1:once] task D", { retry: { maxAttempts: 2 } });
    expect(result).toMatchObject({ success: true, attempts: 2, uuid_verified: true });
    const retry = streamEvents(events, 1).find((e) => e.kind === "api_retry") as { status: number; delayMs: number };
    expect(retry.status).toBe(429);
    expect(retry.delayMs).toBeGreaterThanOrEqual(1000);
    expect(retry.delayMs).toBeLessThan(2000);
    expect(events.find((e) => e.type === "error")).toMatchObject({ failure: { error_type: "rate_limit", recoverable: true } });
    expect(events.filter((e) => e.type === "retry")).toHaveLength(1);
  });

  it("529: overloaded (the CLI ends on assistant error server_error)", async () => {
    const { result, events } = await runRealTask(api, "[api:overloaded] task E", { retry: { maxAttempts: 1 } });
    expect(result).toMatchObject({ success: false, error_type: "overloaded" });
    expect(streamEvents(events).find((e) => e.kind === "assistant_text")).toMatchObject({ error: "server_error" });
  });

  it("400 prompt too long: prompt_too_long, no retry", async () => {
    const { result } = await runRealTask(api, "[api:prompt_too_long] task F");
    expect(result).toMatchObject({ success: false, error_type: "prompt_too_long", attempts: 1 });
    expect(callsWith("task F")).toHaveLength(1);
  });

  it("credit balance too low: billing, no retry", async () => {
    const { result } = await runRealTask(api, "[api:billing] task G");
    expect(result).toMatchObject({ success: false, error_type: "billing", attempts: 1 });
    expect(result.message).toMatch(/Credit balance is too low/);
  });

  it("stop_reason max_tokens: output_token_limit, then a retry that continues the session asking for a concise answer succeeds", async () => {
    api.setHandler((req) => (/concise/i.test(req.latestPrompt) ? obedientAnswer(req) : reply.maxTokens()));
    const { result, events } = await runRealTask(api, "task H: write a lot");
    expect(result).toMatchObject({ success: true, attempts: 2 });
    expect(events.find((e) => e.type === "error")).toMatchObject({ failure: { error_type: "output_token_limit" } });
    const calls = callsWith("task H");
    const concise = calls.filter((r) => /concise/i.test(r.latestPrompt));
    expect(concise.length).toBeGreaterThan(0);
    // The second attempt continues the first one's session (--resume keeps its id) and carries its turns.
    expect(new Set(calls.map((r) => r.sessionId)).size).toBe(1);
    expect(concise.every((r) => r.turn >= 1 && r.prompt === calls[0]!.prompt)).toBe(true);
    expect(result.session_resumes).toMatchObject([{ attempt: 2, resumed: true }]);
  });

  it("usage limit (subscription auth): rate_limit_event read, fails fast with the reset time", async () => {
    const reset = Math.floor(Date.now() / 1000) + 3600;
    api.setHandler(() => reply.usageLimit(reset));
    const { result } = await runRealTask(api, "task I", {}, { oauth: true });
    expect(result).toMatchObject({ success: false, error_type: "usage_limit", attempts: 1, reset_timestamp: reset });
    const call = callsWith("task I")[0]!;
    expect(call.headers.authorization).toBe("Bearer sk-ant-oat01-test-double");
    expect(call.headers["x-api-key"]).toBeUndefined();
  });

  it("usage limit with waitOnLimit: waits for the reset a few seconds ahead, then runs again", async () => {
    const reset = Math.floor(Date.now() / 1000) + 3;
    api.setHandler((req) => (req.sessionId === callsWith("task J")[0]!.sessionId ? reply.usageLimit(reset) : obedientAnswer(req)));
    const { result, events } = await runRealTask(api, "task J", { retry: { waitOnLimit: true, maxAttempts: 2 } }, { oauth: true });
    expect(result).toMatchObject({ success: true, attempts: 2 });
    // From the rate_limit_event: 5 s after the reset. A CLI that only says it in text ("resets 11:13pm")
    // gives the minute: then up to a minute more.
    const until = (events.find((e) => e.type === "waiting_for_limit") as { untilEpochMs: number }).untilEpochMs;
    expect(until).toBeGreaterThanOrEqual(reset * 1000 + 5000);
    expect(until).toBeLessThanOrEqual(reset * 1000 + 65_000);
    expect(callsWith("task J").at(-1)!.receivedAt).toBeGreaterThanOrEqual(reset * 1000);
  }, 120_000);

  it("a stalled stream: the timeout kills claude's group and says timeout", async () => {
    api.setHandler(() => reply.stall());
    const { result, events } = await runRealTask(api, "task K", { timeout: 4, retry: { maxAttempts: 1 } });
    expect(result).toMatchObject({ success: false, error_type: "timeout" });
    const pid = (events.find((e) => e.type === "attempt_started") as { pid: number }).pid;
    expect(processGone(pid)).toBe(true);
  });

  it("a slow answer is waited for", async () => {
    api.setHandler((req) => reply.text(`Done slowly\n\n${uuidIn(req.prompt)}`, { delayMs: 1500, eventDelayMs: 100 }));
    const { result } = await runRealTask(api, "task L");
    expect(result).toMatchObject({ success: true });
    expect(result.duration_ms).toBeGreaterThan(1500);
  });

  it("an API that cannot be reached: connection_error", async () => {
    const { result } = await runRealTask(api, "task M", { retry: { maxAttempts: 1 }, env: { ANTHROPIC_BASE_URL: "http://127.0.0.1:9" } });
    expect(result).toMatchObject({ success: false, error_type: "connection_error" });
  });

  it("bypassPermissions: refused at startup as root (fails once, with the CLI's message and a hint); runs with IS_SANDBOX=1 or as another user", async () => {
    const asRoot = process.getuid?.() === 0;
    const before = api.messageRequests().length;
    const { result } = await runRealTask(api, "task N", { permissionMode: "bypassPermissions" });
    if (asRoot) {
      expect(result).toMatchObject({ success: false, error_type: "startup_error", attempts: 1 });
      expect(result.message).toMatch(/cannot be used with root\/sudo privileges/);
      expect(result.message).toMatch(/IS_SANDBOX=1/);
      expect(api.messageRequests().length).toBe(before);
    } else {
      expect(result).toMatchObject({ success: true });
    }
    const sandboxed = await runRealTask(api, "task N2", { permissionMode: "bypassPermissions", env: { IS_SANDBOX: "1" } });
    expect(sandboxed.result).toMatchObject({ success: true });
  });

  it("an option the CLI refuses at startup fails once with its own message", async () => {
    const { result } = await runRealTask(api, "task O", { mcpConfig: "{not json" });
    expect(result).toMatchObject({ success: false, error_type: "startup_error", attempts: 1 });
    expect(result.message).toMatch(/claude refused to start \(exit code 1\): .*Invalid MCP configuration/);
  });
});
