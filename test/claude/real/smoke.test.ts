/*
 * The real claude CLI (pinned devDependency, or CC_EXECUTOR_TEST_CLAUDE_BIN) against the local
 * Messages API double: one plain task through ccExecute, end to end.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ccExecute, type ClaudeTaskEvent } from "../../../src/claude/index.js";
import { startMessagesApi, type MessagesApi } from "../../helpers/messages-api.js";
import { isolateFromCallerClaudeEnv, realClaudeEnv } from "../../helpers/real-claude.js";

describe("real claude CLI: smoke", () => {
  let api: MessagesApi;
  beforeAll(async () => {
    isolateFromCallerClaudeEnv();
    api = await startMessagesApi();
  });
  afterAll(async () => {
    await api.close();
  });

  it("a plain task: the prompt with its UUID reaches the API, the answer is parsed and verified", async () => {
    const { env, bin } = realClaudeEnv(api);
    const cwd = mkdtempSync(join(tmpdir(), "cce-real-cwd-"));
    const events: ClaudeTaskEvent[] = [];
    const result = await ccExecute("Say hello", { claudeBin: bin, env, cwd, home: join(cwd, ".cce"), timeout: 60, onEvent: (e) => events.push(e) });

    expect(result).toMatchObject({ success: true, uuid_verified: true, attempts: 1, num_turns: 1, result: "Done: Say hello" });
    const calls = api.messageRequests();
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call.query).toEqual({ beta: "true" });
    expect(call.headers["x-api-key"]).toBe("sk-ant-api03-test-double");
    expect(call.body.stream).toBe(true);
    expect(call.prompt).toContain("Say hello");
    expect(call.prompt).toContain(result.execution_uuid!);
    // usage and cost come from the CLI's result message: the double's usage, priced by the CLI
    expect(result.usage).toMatchObject({ input_tokens: 1200, output_tokens: 40 });
    expect(result.cost_usd).toBeGreaterThan(0);
    expect(result.model).toBe(call.model);
    expect(result.session_id).toBe(call.sessionId);
    const kinds = events.filter((e) => e.type === "stream").map((e) => (e as { event: { kind: string } }).event.kind);
    expect(kinds[0]).toBe("init");
    expect(kinds.at(-1)).toBe("result");
    const transcript = readFileSync(result.transcript_path, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(transcript.at(-1)).toMatchObject({ type: "result", subtype: "success", is_error: false });
  });
});
