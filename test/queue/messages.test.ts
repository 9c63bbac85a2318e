import { describe, expect, it } from "vitest";
import { boundActivity, queueJobId } from "../../src/queue/index.js";
import type { TaskActivity } from "../../src/tasks/index.js";
import { parseJobData } from "../../src/queue/job.js";

describe("queue messages", () => {
  it("bounds streamed activity: output chunks keep their head and say so, process results keep their tail, raw claude messages are dropped", () => {
    const big = `${"a".repeat(40_000)}END`;
    const out = boundActivity({ type: "process.output", chunk: { stream: "stdout", data: big, chunkIndex: 0, totalChunks: 1, seq: 1, truncated: false } }, 1000);
    expect(out.type === "process.output" && out.chunk.data.startsWith("a".repeat(1000))).toBe(true);
    expect(out.type === "process.output" && out.chunk.data.length).toBeLessThan(1100);
    expect(out.type === "process.output" && out.chunk.truncated).toBe(true);

    const done = boundActivity(
      { type: "process.completed", result: { status: "completed", exitCode: 0, signal: null, durationMs: 1, stdout: big, stderr: "", stdoutBytes: big.length, stderrBytes: 0, truncated: false, pid: 1, pgid: 1 } },
      1000,
    );
    expect(done.type === "process.completed" && done.result.stdout.endsWith("END")).toBe(true);
    expect(done.type === "process.completed" && done.result.stdout.length).toBeLessThan(1100);

    const stream = { type: "claude", event: { type: "stream", attempt: 1, event: { kind: "assistant_text", text: big, raw: { huge: big } } } } as unknown as TaskActivity;
    const s = JSON.stringify(boundActivity(stream, 1000));
    expect(s.length).toBeLessThan(1300);
    expect(s).not.toContain('"raw"');

    const small: TaskActivity = { type: "process.started", pid: 1, pgid: 1, command: "true", timeout: 5, startedAt: 1 };
    expect(boundActivity(small, 1000)).toEqual(small);
  });

  it("job ids are <run>:<task>:<attempt>, with colons in ids replaced (BullMQ allows exactly three segments)", () => {
    expect(queueJobId({ runId: "tl-20261125-000000-abcdef", attempt: 2, task: { id: "build" } })).toBe("tl-20261125-000000-abcdef:build:2");
    expect(queueJobId({ runId: "tl-x", attempt: 1, task: { id: "a:b" } }).split(":")).toHaveLength(3);
  });
});

describe("queue jobs carry budgets and the session to continue", () => {
  const job = (extra: Record<string, unknown>, task: Record<string, unknown> = {}) => ({
    request: { runId: "tl-x", task: { id: "t1", index: 1, title: "t", method: "claude", prompt: "p", maxCostUsd: 2, maxTokens: 1000, resumeSession: false, ...task }, prompt: "p", timeoutS: 60, cwd: "/tmp", env: {}, attempt: 2, executionId: "e", ...extra },
    maxStalls: 1,
    submitter: { host: "h", pid: 1 },
  });

  it("keeps a task's budget, the run's cap and the session to continue (a worker runs what the runner decided)", () => {
    const parsed = parseJobData(job({ budget: { maxCostUsd: 0.5, maxTokens: 900 }, resumeSession: { sessionId: "0b9c2f4e-5f1a-4c3e-9d7b-1a2b3c4d5e6f", reason: "timeout" }, continueSessions: false }));
    if (!parsed.ok) throw new Error(parsed.problem);
    const r = parsed.data.request;
    expect(r).toMatchObject({ budget: { maxCostUsd: 0.5, maxTokens: 900 }, resumeSession: { sessionId: "0b9c2f4e-5f1a-4c3e-9d7b-1a2b3c4d5e6f" }, continueSessions: false, task: { maxCostUsd: 2, maxTokens: 1000, resumeSession: false } });
  });

  it("refuses a session id an option parser could take for a flag", () => {
    const parsed = parseJobData(job({ resumeSession: { sessionId: "--dangerously-skip-permissions", reason: "x" } }));
    expect(parsed).toMatchObject({ ok: false, problem: expect.stringContaining("request.resumeSession.sessionId: must be a Claude session id") });
  });
});
