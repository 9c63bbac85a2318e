import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { fakeClaude } from "../helpers/fake-claude.js";
import { waitUntil } from "../helpers/procs.js";
import { RawPeer, startTestServer, type TestServer } from "../helpers/server.js";

describe("cc_execute over the protocol", () => {
  let server: TestServer;
  let saved: NodeJS.ProcessEnv;
  beforeAll(async () => {
    saved = { ...process.env };
    server = await startTestServer({ claudeRetryDelayMs: 10 });
  });
  afterAll(async () => {
    process.env = saved;
    await server.cleanup();
  });

  it("streams process and claude notifications, then claude.completed with the result", async () => {
    const fc = fakeClaude("success");
    const peer = await RawPeer.open(server.url, { token: server.token });
    const res = await peer.request(1, "cc_execute", { prompt: "Create hello.py", env: fc.env });
    expect(res.result).toMatchObject({ status: "started", resumable: true });
    const done = await peer.waitFor((m) => m.method === "claude.completed");
    expect(done.params.result).toMatchObject({ success: true, uuid_verified: true, attempts: 1 });
    const methods = peer.messages.map((m) => m.method).filter(Boolean);
    expect(methods).toEqual(expect.arrayContaining(["process.started", "process.output", "process.completed", "claude.event", "claude.completed"]));
    expect(methods.indexOf("process.started")).toBeLessThan(methods.indexOf("claude.completed"));
    const kinds = peer.notifications("claude.event").map((m) => m.params.event.kind);
    expect(kinds).toEqual(expect.arrayContaining(["init", "assistant_text", "tool_use", "tool_result", "result"]));
    await peer.close();
  });

  it("sends error.rate_limit_exceeded and claude.retry on a 429, then succeeds", async () => {
    const fc = fakeClaude("rate_limit_once");
    const peer = await RawPeer.open(server.url, { token: server.token });
    await peer.request(1, "cc_execute", { prompt: "x", env: fc.env });
    const done = await peer.waitFor((m) => m.method === "claude.completed");
    expect(done.params.result).toMatchObject({ success: true, attempts: 2 });
    expect(peer.notifications("error.rate_limit_exceeded")[0]!.params).toMatchObject({ error_type: "rate_limit", recoverable: true });
    expect(peer.notifications("claude.retry")).toHaveLength(1);
    expect(peer.notifications("process.started")).toHaveLength(2);
    await peer.close();
  });

  it("error.token_limit_exceeded on an output-token limit", async () => {
    const fc = fakeClaude("output_limit_once");
    const peer = await RawPeer.open(server.url, { token: server.token });
    await peer.request(1, "cc_execute", { prompt: "x", env: fc.env });
    await peer.waitFor((m) => m.method === "claude.completed");
    expect(peer.notifications("error.token_limit_exceeded")[0]!.params).toMatchObject({ error_type: "output_token_limit" });
    await peer.close();
  });

  it("control CANCEL kills a hanging claude and reports canceled", async () => {
    const fc = fakeClaude("hang");
    const peer = await RawPeer.open(server.url, { token: server.token });
    await peer.request(1, "cc_execute", { prompt: "x", env: fc.env });
    await waitUntil(() => fc.calls().length === 1, 10_000, "claude started");
    expect((await peer.request(2, "control", { type: "CANCEL" })).result).toMatchObject({ status: "canceled" });
    const done = await peer.waitFor((m) => m.method === "claude.completed");
    expect(done.params.result).toMatchObject({ success: false, error_type: "canceled" });
    const pid = fc.calls()[0]!.pid;
    await waitUntil(() => { try { process.kill(pid, 0); return false; } catch { return true; } }, 5000, "claude gone");
    await peer.close();
  });

  it("invalid params name the field", async () => {
    const peer = await RawPeer.open(server.url, { token: server.token });
    const res = await peer.request(1, "cc_execute", { prompt: "", max_turns: -1 });
    expect(res.error?.code).toBe(-32602);
    expect(res.error?.message).toMatch(/prompt/);
    expect(res.error?.message).toMatch(/max_turns/);
    await peer.close();
  });
});

describe("cc-executor claude (CLI)", () => {
  const cli = (scenario: string, args: string[], extra: Record<string, string> = {}) => {
    const fc = fakeClaude(scenario, extra);
    return runCli(["claude", ...args], { env: { ...fc.env, CC_EXECUTOR_HOME: fc.home, CC_EXECUTOR_PORT: String(20000 + Math.floor(Math.random() * 30000)), CC_EXECUTOR_CLAUDE_RETRY_DELAY_MS: "10" } });
  };

  it("prints the result, progress on stderr, exit 0 on verified success", async () => {
    const r = await cli("success", ["Create hello.py that prints hi"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("Completed: Create hello.py that prints hi\n");
    expect(r.stderr).toMatch(/⚙ Bash ls/);
    expect(r.stderr).toMatch(/UUID verified/);
  });

  it("--json prints one JSON object with the documented fields", async () => {
    const r = await cli("json", ["--json", "--model", "sonnet", "--timeout", "900", "--max-turns", "30", "--tools", "Read,Write,Bash", "Create hello.py"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    for (const key of ["success", "result", "summary", "files_created", "files_modified", "execution_uuid", "uuid_verified", "attempts", "usage", "cost_usd", "duration_ms", "num_turns", "session_id", "transcript_path"]) expect(out).toHaveProperty(key);
    expect(out).toMatchObject({ success: true, files_created: ["output.txt"] });
  });

  it("exit codes: 1 on uuid failure, 75 on a usage limit, 127 without a claude binary", async () => {
    const uuid = await cli("missing_uuid_always", ["--json", "x"]);
    expect(uuid.code).toBe(1);
    expect(JSON.parse(uuid.stdout)).toMatchObject({ success: false, error_type: "uuid_verification_failed", attempts: 3 });
    const limit = await cli("usage_limit", ["x"]);
    expect(limit.code).toBe(75);
    expect(limit.stderr).toMatch(/usage limit reached; it resets at/);
    const missing = await cli("success", ["--json", "x"], { CLAUDE_BIN: "/nonexistent/claude" });
    expect(missing.code).toBe(127);
    expect(JSON.parse(missing.stdout).message).toMatch(/CLAUDE_BIN/);
  });

  it("plain execute of a claude command still works", async () => {
    const fc = fakeClaude("success");
    const r = await runCli(["run", `${fc.env.CLAUDE_BIN} -p --output-format stream-json --verbose -- 'What is 2+2?' | tail -1`], { env: { ...fc.env, CC_EXECUTOR_HOME: fc.home, CC_EXECUTOR_PORT: "1" } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ type: "result", result: "Completed: What is 2+2?" });
  });
});
