/*
 * ccExecute against the real claude CLI (pinned devDependency, or CC_EXECUTOR_TEST_CLAUDE_BIN)
 * and the local Messages API double: the argv we build, the stream we parse, usage and cost, the
 * UUID check, JSON mode, tools and permissions, MCP configuration, long prompts.
 */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_PROMPT_ARG_BYTES } from "../../../src/claude/index.js";
import { CLI } from "../../helpers/cli.js";
import { obedientAnswer, reply, uuidIn } from "../../helpers/messages-api.js";
import { useMessagesApi, runRealTask, streamEvents } from "../../helpers/real-claude.js";

describe("real claude CLI: running a task", () => {
  const api = useMessagesApi();
  const callsOf = (sessionId: string | null) => api.messageRequests().filter((r) => r.sessionId === sessionId);

  it("a plain task: the prompt with its UUID reaches the API; answer, usage, cost, model and session come back", async () => {
    const { result, events } = await runRealTask(api, "Say hello");
    expect(result).toMatchObject({ success: true, uuid_verified: true, attempts: 1, num_turns: 1, result: "Done: Say hello" });
    const calls = callsOf(result.session_id);
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call.query).toEqual({ beta: "true" });
    expect(call.headers["x-api-key"]).toBe("sk-ant-api03-test-double");
    expect(call.body.stream).toBe(true);
    expect(call.prompt).toBe(`Say hello\n\nIMPORTANT: end your final answer with this exact execution UUID on its own line: ${result.execution_uuid}`);
    // usage from the double, priced by the CLI
    expect(result.usage).toEqual({ input_tokens: 1200, output_tokens: 40, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });
    expect(result.cost_usd).toBeGreaterThan(0);
    expect(result.model).toBe(call.model);
    const kinds = streamEvents(events).map((e) => e.kind);
    expect(kinds[0]).toBe("init");
    expect(kinds.at(-1)).toBe("result");
    expect(kinds).not.toContain("noise");
    const transcript = readFileSync(result.transcript_path, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(transcript.at(-1)).toMatchObject({ type: "result", subtype: "success", is_error: false });
  });

  it("argv: every option we build is accepted by the CLI and shows in what it sends", async () => {
    const { result, events } = await runRealTask(api, "Use the options", {
      model: "claude-haiku-4-5",
      maxTurns: 5,
      tools: ["Read", "Write"],
      disallowedTools: ["WebFetch", "Bash"],
      appendSystemPrompt: "APPENDED-SYSTEM-MARKER",
      permissionMode: "acceptEdits",
      json: true,
    });
    expect(result).toMatchObject({ success: true, uuid_verified: true });
    const call = callsOf(result.session_id)[0]!;
    expect(call.model).toBe("claude-haiku-4-5");
    expect(call.system).toContain("APPENDED-SYSTEM-MARKER");
    expect(call.toolNames).toEqual(expect.arrayContaining(["Read", "Write", "StructuredOutput"]));
    expect(call.toolNames).not.toContain("WebFetch");
    expect(call.toolNames).not.toContain("Bash");
    expect(streamEvents(events).find((e) => e.kind === "init")).toMatchObject({ permissionMode: "acceptEdits", model: "claude-haiku-4-5" });
    const argv = events.find((e) => e.type === "attempt_started") as { argv: string[] };
    expect(argv.argv.slice(0, 4)).toEqual(["-p", "--output-format", "stream-json", "--verbose"]);
  });

  it("tools: an allowed Write runs; tool_use, tool_result and usage over both calls are parsed", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "cce-real-write-"));
    const file = join(cwd, "hello.py");
    api.setHandler((req) => (req.turn === 0 ? reply.toolUse("Write", { file_path: file, content: "print('hi')\n" }, { text: "Writing it." }) : obedientAnswer(req, "Wrote hello.py")));
    const { result, events } = await runRealTask(api, "Create hello.py", { tools: ["Write"], cwd });
    expect(result).toMatchObject({ success: true, uuid_verified: true, num_turns: 2, result: "Wrote hello.py" });
    expect(readFileSync(file, "utf8")).toBe("print('hi')\n");
    const parsed = streamEvents(events);
    expect(parsed.find((e) => e.kind === "tool_use")).toMatchObject({ name: "Write", input: { file_path: file } });
    expect(parsed.find((e) => e.kind === "tool_result")).toMatchObject({ isError: false });
    expect(parsed.map((e) => e.kind)).not.toContain("noise");
    expect(result.usage.input_tokens).toBe(2400);
    const second = callsOf(result.session_id)[1]!;
    expect(second.toolResults[0]!.text).toMatch(/File created successfully/);
    expect(result.permission_denials).toEqual([]);
  });

  it("tools: an allowed Bash command runs and its output reaches the model's next request", async () => {
    api.setHandler((req) => (req.turn === 0 ? reply.toolUse("Bash", { command: "echo computed-$((6*7))", description: "compute" }) : obedientAnswer(req, `Bash said ${req.toolResults[0]?.text}`)));
    const { result } = await runRealTask(api, "Compute", { tools: ["Bash"] });
    expect(result).toMatchObject({ success: true, result: "Bash said computed-42" });
  });

  it("permissions: a tool that is not allowed is not run, and the denial is reported", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "cce-real-deny-"));
    const file = join(cwd, "denied.txt");
    api.setHandler((req) => (req.turn === 0 ? reply.toolUse("Write", { file_path: file, content: "x" }) : obedientAnswer(req, "Could not write")));
    const { result } = await runRealTask(api, "Write a file", { cwd });
    expect(result).toMatchObject({ success: true, permission_denials: [{ tool_name: "Write", tool_input: { file_path: file, content: "x" } }] });
    expect(existsSync(file)).toBe(false);
    const denial = callsOf(result.session_id)[1]!.toolResults[0]!;
    expect(denial.isError).toBe(true);
    expect(denial.text).toMatch(/permission|granted/i);
  });

  it("UUID: an answer without this run's UUID is not trusted; every attempt is asked for the same one", async () => {
    api.setHandler(() => reply.text("All done, trust me."));
    const { result } = await runRealTask(api, "Do it", { retry: { maxAttempts: 2 } });
    expect(result).toMatchObject({ success: false, error_type: "uuid_verification_failed", attempts: 2, uuid_verified: false });
    const prompts = api.messageRequests().filter((r) => r.prompt.startsWith("Do it")).map((r) => uuidIn(r.prompt));
    expect(prompts).toEqual([result.execution_uuid, result.execution_uuid]);
  });

  it("JSON mode: the answer comes through StructuredOutput (--json-schema)", async () => {
    api.setHandler((req) =>
      req.turn === 0
        ? reply.structured({ result: "made it", summary: "wrote a.txt", files_created: ["a.txt"], files_modified: [], execution_uuid: uuidIn(req.prompt) })
        : reply.text("Structured answer given."),
    );
    const { result } = await runRealTask(api, "Make a.txt", { json: true });
    expect(result).toMatchObject({ success: true, uuid_verified: true, result: "made it", summary: "wrote a.txt", files_created: ["a.txt"] });
    expect(callsOf(result.session_id)[0]!.toolNames).toContain("StructuredOutput");
  });

  it("JSON mode without structured output: the object is read from the answer's text", async () => {
    api.setHandler((req) => {
      const answer = { result: "from text", summary: "s", files_created: [], files_modified: ["b.txt"], execution_uuid: uuidIn(req.prompt) };
      return reply.text(`Here you go:\n\`\`\`json\n${JSON.stringify(answer)}\n\`\`\`\n`);
    });
    const { result } = await runRealTask(api, "Edit b.txt", { json: true, structuredOutput: false });
    expect(result).toMatchObject({ success: true, uuid_verified: true, result: "from text", files_modified: ["b.txt"] });
    expect(callsOf(result.session_id)[0]!.toolNames).not.toContain("StructuredOutput");
  });

  it("JSON mode: a model that answers in text instead of calling StructuredOutput is stopped (the CLI would insist forever) and its text is used", async () => {
    api.setHandler((req) => {
      const text = reply.text(JSON.stringify({ result: "plain", summary: "s", files_created: [], files_modified: [], execution_uuid: uuidIn(req.prompt) }));
      // From the second demand on, answer slowly: the stop (at the second demand) must land before a fourth request, even on a busy machine.
      return req.turn >= 2 ? reply.delayed(5000, text) : text;
    });
    const { result } = await runRealTask(api, "Answer in JSON", { json: true });
    expect(result).toMatchObject({ success: true, uuid_verified: true, attempts: 1, result: "plain" });
    expect(callsOf(result.session_id).length).toBeLessThanOrEqual(3);
  });

  it("MCP: --mcp-config starts cc-executor's MCP server; the model's mcp__ tool call runs and its result comes back", async () => {
    const state = mkdtempSync(join(tmpdir(), "cce-real-mcp-"));
    const mcpConfig = JSON.stringify({ mcpServers: { cce: { command: process.execPath, args: [CLI, "mcp"], env: { CC_EXECUTOR_HOME: state, LOG_LEVEL: "silent" } } } });
    api.setHandler((req) =>
      req.turn === 0 ? reply.toolUse("mcp__cce__execute_command", { command: "echo mcp-says-$((40+2))" }) : obedientAnswer(req, `MCP tool said: ${req.toolResults[0]?.text.includes("mcp-says-42")}`),
    );
    const { result, events } = await runRealTask(api, "Use the MCP tool", { mcpConfig, tools: ["mcp__cce__execute_command"], timeout: 90 });
    expect(result).toMatchObject({ success: true, result: "MCP tool said: true" });
    const init = streamEvents(events).find((e) => e.kind === "init") as { raw: { mcp_servers: unknown[] } };
    expect(init.raw.mcp_servers).toEqual([expect.objectContaining({ name: "cce", status: "connected" })]);
  });

  it("a prompt too long for one argument (300 KiB) goes on stdin and arrives whole", async () => {
    const prompt = `Summarize: ${"lorem ipsum dolor sit amet, ".repeat(11_000)}END-OF-PROMPT ünïcødé`;
    expect(Buffer.byteLength(prompt)).toBeGreaterThan(300 * 1024);
    const { result, events } = await runRealTask(api, prompt);
    expect(result).toMatchObject({ success: true, uuid_verified: true, attempts: 1 });
    const call = callsOf(result.session_id)[0]!;
    expect(call.prompt.startsWith(prompt)).toBe(true);
    expect(call.prompt).toContain(result.execution_uuid!);
    const argv = (events.find((e) => e.type === "attempt_started") as { argv: string[] }).argv;
    expect(argv.every((a) => Buffer.byteLength(a) < MAX_PROMPT_ARG_BYTES)).toBe(true);
  });

  it("--max-turns 1: the failure names the limit the user set", async () => {
    api.setHandler(() => reply.toolUse("Bash", { command: "true" }));
    const { result } = await runRealTask(api, "Loop", { maxTurns: 1, tools: ["Bash"] });
    expect(result).toMatchObject({ success: false, error_type: "max_turns", attempts: 1 });
    expect(result.message).toMatch(/--max-turns 1\b/);
    expect(result.message).not.toMatch(/after 2 turns/);
  });
});
