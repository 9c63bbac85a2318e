/*
 * The real claude CLI through the doors: `cc-executor claude` (the built CLI), the `cc_execute`
 * protocol method on a real server, and a task list whose later tasks get the earlier results.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../helpers/cli.js";
import { obedientAnswer, reply, type ApiRequest } from "../../helpers/messages-api.js";
import { useMessagesApi, realClaudeEnv } from "../../helpers/real-claude.js";
import { RawPeer, startTestServer, type TestServer } from "../../helpers/server.js";

describe("real claude CLI through the doors", () => {
  const api = useMessagesApi();
  const callsWith = (marker: string) => api.messageRequests().filter((r) => r.prompt.includes(marker));
  /** Environment for the built CLI: the real claude against the double, its own state dir, no server to find. */
  const cliEnv = (extra: Record<string, string> = {}, oauth = false) => ({
    ...realClaudeEnv(api, { oauth }).env,
    CC_EXECUTOR_HOME: mkdtempSync(join(tmpdir(), "cce-real-cli-")),
    CC_EXECUTOR_PORT: String(20000 + Math.floor(Math.random() * 30000)),
    CC_EXECUTOR_CLAUDE_RETRY_DELAY_MS: "10",
    ...extra,
  });

  it("cc-executor claude --json: verified result, exit 0", async () => {
    const r = await runCli(["claude", "--json", "--tools", "Read", "Say hi from the CLI"], { env: cliEnv(), timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ success: true, uuid_verified: true, attempts: 1, result: "Done: Say hi from the CLI" });
    expect(callsWith("Say hi from the CLI")[0]!.toolNames).toContain("StructuredOutput");
  });

  it("cc-executor claude: CC_EXECUTOR_CLAUDE_API_RETRIES reaches the CLI; a 401 is auth, exit 1, said on stderr", async () => {
    const r = await runCli(["claude", "[api:auth] cli auth task"], { env: cliEnv({ CC_EXECUTOR_CLAUDE_API_RETRIES: "1" }), timeoutMs: 90_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/✗ auth: claude is not authenticated \(Invalid API key/);
    expect(r.stderr.match(/✗ auth: /g)).toHaveLength(1); // stated once, not by the progress and again by the status line
    expect(callsWith("cli auth task")).toHaveLength(2);
  });

  it("cc-executor claude: a usage limit exits 75 with the reset time", async () => {
    const reset = Math.floor(Date.now() / 1000) + 7200;
    api.setHandler(() => reply.usageLimit(reset));
    const r = await runCli(["claude", "--json", "cli limit task"], { env: cliEnv({}, true), timeoutMs: 90_000 });
    expect(r.code).toBe(75);
    expect(JSON.parse(r.stdout)).toMatchObject({ success: false, error_type: "usage_limit", reset_timestamp: reset, attempts: 1 });
  });

  it("cc-executor claude --wait-on-limit: waits for a reset a few seconds ahead, says so, then succeeds", async () => {
    const reset = Math.floor(Date.now() / 1000) + 3;
    api.setHandler((req) => (req.sessionId === callsWith("cli wait task")[0]!.sessionId ? reply.usageLimit(reset) : obedientAnswer(req)));
    const r = await runCli(["claude", "--wait-on-limit", "cli wait task"], { env: cliEnv({}, true), timeoutMs: 150_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("Done: cli wait task\n");
    expect(r.stderr).toMatch(/waiting for the usage limit to reset/);
    expect(callsWith("cli wait task").at(-1)!.receivedAt).toBeGreaterThanOrEqual(reset * 1000);
  }, 180_000);

  describe("cc_execute on a real server", () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ claudeRetryDelayMs: 10, claudeApiRetries: 1 });
    });
    afterAll(async () => {
      await server.cleanup();
    });

    it("streams claude events and completes with the verified result", async () => {
      const peer = await RawPeer.open(server.url, { token: server.token });
      const res = await peer.request(1, "cc_execute", { prompt: "server task one", env: realClaudeEnv(api).env, timeout: 90 });
      expect(res.result).toMatchObject({ status: "started" });
      const done = await peer.waitFor((m) => m.method === "claude.completed", 90_000);
      expect(done.params.result).toMatchObject({ success: true, uuid_verified: true, attempts: 1, result: "Done: server task one" });
      const kinds = peer.notifications("claude.event").map((m) => m.params.event.kind);
      expect(kinds).toEqual(expect.arrayContaining(["init", "assistant_text", "result"]));
      await peer.close();
    });

    it("a 429: error.rate_limit_exceeded and claude.retry, then success in a fresh process", async () => {
      const peer = await RawPeer.open(server.url, { token: server.token });
      await peer.request(1, "cc_execute", { prompt: "[api:rate_limit:1:once] server task two", env: realClaudeEnv(api).env, timeout: 90 });
      const done = await peer.waitFor((m) => m.method === "claude.completed", 90_000);
      expect(done.params.result).toMatchObject({ success: true, attempts: 2 });
      expect(peer.notifications("error.rate_limit_exceeded")[0]!.params).toMatchObject({ error_type: "rate_limit", recoverable: true });
      expect(peer.notifications("claude.retry")).toHaveLength(1);
      // the server's configured CLI retries (1): two calls in the failed process
      const first = callsWith("server task two")[0]!.sessionId;
      expect(callsWith("server task two").filter((r) => r.sessionId === first)).toHaveLength(2);
      await peer.close();
    });
  });

  it("a 3-task list: each task is a fresh claude process, and task 3's prompt carries the results of tasks 1 and 2", async () => {
    const tokens = new Map<number, string>();
    const taskOf = (req: ApiRequest) => Number(/TASK-(\d)/.exec(req.prompt.split(/^## Your task[^\n]*\n/m).at(-1)!)?.[1]);
    api.setHandler((req) => {
      const n = taskOf(req);
      if (!tokens.has(n)) tokens.set(n, `token-${n}-${Math.random().toString(36).slice(2, 10)}`);
      return obedientAnswer(req, `Result of task ${n}: ${tokens.get(n)}`);
    });
    const dir = mkdtempSync(join(tmpdir(), "cce-real-list-"));
    const file = join(dir, "tasks.md");
    writeFileSync(file, "# Task List: three\n\n### Task 1: first\nDo TASK-1.\n\n### Task 2: second\nDo TASK-2.\n\n### Task 3: third\nDo TASK-3.\n");
    const r = await runCli(["tasks", "run", file, "--json", "-q"], { env: cliEnv(), cwd: dir, timeoutMs: 150_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: "completed", total: 3, completed: 3 });
    const firstCall = (n: number) => api.messageRequests().find((q) => q.turn === 0 && taskOf(q) === n && q.prompt.includes("TASK-"))!;
    const [one, two, three] = [firstCall(1), firstCall(2), firstCall(3)];
    expect(new Set([one.sessionId, two.sessionId, three.sessionId]).size).toBe(3);
    expect(one.receivedAt).toBeLessThan(two.receivedAt);
    expect(two.receivedAt).toBeLessThan(three.receivedAt);
    expect(two.prompt).toContain(tokens.get(1)!);
    expect(three.prompt).toContain(tokens.get(1)!);
    expect(three.prompt).toContain(tokens.get(2)!);
  }, 180_000);
});
