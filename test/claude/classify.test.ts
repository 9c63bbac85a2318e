import { describe, expect, it } from "vitest";
import { classifyOutcome, isUsageLimitText, resetFromLimitText, type RunObservation } from "../../src/claude/index.js";

const base: RunObservation = { assistantErrors: [], retryStatuses: [], pendingRetries: [], processStatus: "completed", exitCode: 0, stdoutBytes: 1000, stderrTail: "", permissionDenials: [] };
const errorResult = (extra: Record<string, unknown>) => ({ type: "result" as const, subtype: "success", is_error: true, result: "", ...extra });

describe("usage-limit text", () => {
  // 2026-12-01T20:00:00Z
  const now = Date.UTC(2026, 11, 1, 20, 0);

  it("recognises the messages the CLI prints", () => {
    expect(isUsageLimitText("You've hit your limit · resets 10:04pm (UTC)")).toBe(true);
    expect(isUsageLimitText("You've hit your 5-hour limit · resets 10:25pm (UTC)")).toBe(true);
    expect(isUsageLimitText("You've hit your session limit · resets 10:21pm (UTC)")).toBe(true);
    expect(isUsageLimitText("You're out of extra usage · resets 3am (UTC)")).toBe(true);
    expect(isUsageLimitText("API Error: Request rejected (429) · This request would exceed the rate limit")).toBe(false);
    expect(isUsageLimitText("Claude AI usage limit reached|1796162674")).toBe(false);
  });

  it("reads the reset time (the end of the minute it names): later today, tomorrow, a date, another zone", () => {
    expect(resetFromLimitText("You've hit your limit · resets 10:04pm (UTC)", now)).toBe(Date.UTC(2026, 11, 1, 22, 4) / 1000 + 60);
    expect(resetFromLimitText("You've hit your limit · resets 3am (UTC)", now)).toBe(Date.UTC(2026, 11, 2, 3, 0) / 1000 + 60);
    expect(resetFromLimitText("You've hit your weekly limit · resets Dec 3, 10pm (UTC)", now)).toBe(Date.UTC(2026, 11, 3, 22, 0) / 1000 + 60);
    expect(resetFromLimitText("You've hit your weekly limit · resets Jan 2, 2027, 9:30am (UTC)", now)).toBe(Date.UTC(2027, 0, 2, 9, 30) / 1000 + 60);
    // Berlin is UTC+1 in December
    expect(resetFromLimitText("You've hit your limit · resets 11pm (Europe/Berlin)", now)).toBe(Date.UTC(2026, 11, 1, 22, 0) / 1000 + 60);
    expect(resetFromLimitText("You've hit your limit · resets 11pm (Not/AZone)", now)).toBeUndefined();
    expect(resetFromLimitText("You've hit your limit", now)).toBeUndefined();
  });
});

describe("classifyOutcome", () => {
  it("reads the API status and error type before any text", () => {
    const c = (extra: Record<string, unknown>, errors: string[] = []) => classifyOutcome({ ...base, exitCode: 1, assistantErrors: errors, result: errorResult(extra) })?.error_type;
    expect(c({ api_error_status: 401, result: "whatever" }, ["authentication_failed"])).toBe("auth");
    expect(c({ api_error_status: 429, result: "API Error: Request rejected (429)" }, ["rate_limit"])).toBe("rate_limit");
    expect(c({ api_error_status: 529, result: "API Error: 529 Overloaded." }, ["server_error"])).toBe("overloaded");
    expect(c({ api_error_status: 500, result: "API Error: 500" }, ["server_error"])).toBe("server_error");
    expect(c({ api_error_status: 400, result: "Credit balance is too low" }, ["billing_error"])).toBe("billing");
    expect(c({ api_error_status: 400, result: "Prompt is too long", terminal_reason: "prompt_too_long" }, ["invalid_request"])).toBe("prompt_too_long");
    expect(c({ api_error_status: 400, result: "API Error: 400 something" }, ["invalid_request"])).toBe("invalid_request");
    expect(c({ api_error_status: null, api_error: "max_output_tokens", result: "API Error: Claude's response exceeded the 128000 output token maximum." })).toBe("output_token_limit");
    expect(c({ api_error_status: 429, api_error: "usage_limit_reached", api_error_type: "rate_limit_error", result: "You've hit your 5-hour limit · resets 10:25pm (UTC)" }, ["rate_limit"])).toBe("usage_limit");
    // the type wins over a misleading text
    expect(c({ api_error_status: 529, api_error_type: "overloaded_error", result: "rate limit" }, ["rate_limit"])).toBe("overloaded");
    expect(c({ api_error_status: null, result: "API Error: Unable to connect to API (ECONNREFUSED)" }, ["unknown"])).toBe("connection_error");
    // newer CLIs: api_error names the cause (a refused connection ends on assistant error server_error)
    expect(c({ api_error_status: null, api_error: "connection_failed", result: "API Error: Connection refused" }, ["server_error"])).toBe("connection_error");
    expect(c({ api_error_status: null, api_error: "gateway_session_expired", result: "session expired" }, ["unknown"])).toBe("auth");
  });

  it("a usage limit is read from the text when no rate_limit_event came", () => {
    const f = classifyOutcome({ ...base, exitCode: 1, assistantErrors: ["rate_limit"], result: errorResult({ api_error_status: 429, result: "You've hit your limit · resets 10:04pm (UTC)" }) });
    expect(f).toMatchObject({ error_type: "usage_limit", recoverable: true });
    expect(f!.reset_timestamp).toBeGreaterThan(Date.now() / 1000 - 60);
  });

  it("a timeout during the CLI's own API retries is that API error", () => {
    const timeout = { ...base, processStatus: "timeout" as const, exitCode: null };
    expect(classifyOutcome({ ...timeout, pendingRetries: [{ status: 401, error: "authentication_failed" }] })).toMatchObject({ error_type: "auth", recoverable: false });
    expect(classifyOutcome({ ...timeout, pendingRetries: [{ status: 529, error: "rate_limit" }, { status: 529, error: "rate_limit" }] })).toMatchObject({ error_type: "overloaded", message: expect.stringMatching(/still retrying it \(2 retries\)/) });
    expect(classifyOutcome({ ...timeout, pendingRetries: [{ status: 429, error: "rate_limit" }] })?.error_type).toBe("rate_limit");
    expect(classifyOutcome({ ...timeout, pendingRetries: [{ status: null, error: "unknown" }] })?.error_type).toBe("connection_error");
    expect(classifyOutcome({ ...timeout, retryStatuses: [529] })?.error_type).toBe("timeout");
  });

  it("nothing on stdout and a failed exit is a startup error; with output it is a crash", () => {
    const said = "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons\n";
    const startup = classifyOutcome({ ...base, processStatus: "failed", exitCode: 1, stdoutBytes: 0, stderrTail: said });
    expect(startup).toMatchObject({ error_type: "startup_error", recoverable: false });
    expect(startup!.message).toContain("cannot be used with root/sudo privileges");
    expect(startup!.message).toMatch(/IS_SANDBOX=1/);
    expect(classifyOutcome({ ...base, processStatus: "failed", exitCode: 1, stdoutBytes: 500, stderrTail: "boom" })).toMatchObject({ error_type: "crash", recoverable: true });
  });

  it("max turns: the limit the user set, not the CLI's turn count", () => {
    const f = classifyOutcome({ ...base, exitCode: 1, maxTurns: 1, result: errorResult({ subtype: "error_max_turns", num_turns: 2, terminal_reason: "max_turns", errors: ["Reached maximum number of turns (1)"] }) });
    expect(f).toMatchObject({ error_type: "max_turns" });
    expect(f!.message).toMatch(/--max-turns 1\b/);
    expect(f!.message).not.toMatch(/\b2\b/);
  });
});
