import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StreamJsonParser, parseLine, type StreamEvent } from "../../src/claude/index.js";
import { KnownMessage } from "../../src/claude/stream-types.js";
import { FAKE_CLAUDE } from "../helpers/fake-claude.js";

function fakeOutput(scenario: string, prompt = "do it 1b4e28ba-2fa1-41d2-883f-0016d3cca427"): string {
  const r = spawnSync(FAKE_CLAUDE, ["-p", "--output-format", "stream-json", "--verbose", "--", prompt], { env: { ...process.env, FAKE_CLAUDE_SCENARIO: scenario }, encoding: "utf8" });
  return r.stdout;
}

const kinds = (events: StreamEvent[]) => events.map((e) => e.kind);

describe("StreamJsonParser", () => {
  it("reads a whole stream into typed events", () => {
    const events = new StreamJsonParser().push(fakeOutput("success"));
    expect(kinds(events)).toEqual(["init", "assistant_text", "tool_use", "tool_result", "assistant_text", "result"]);
    const result = events.at(-1) as Extract<StreamEvent, { kind: "result" }>;
    expect(result.result).toMatchObject({ subtype: "success", is_error: false, num_turns: 3, total_cost_usd: 0.0123 });
  });

  it("tolerates partial lines, CRLF, blank lines and noise", () => {
    const p = new StreamJsonParser();
    const line = JSON.stringify({ type: "system", subtype: "init", session_id: "s", model: "m", cwd: "/", tools: [], permissionMode: "default" });
    expect(p.push(line.slice(0, 10))).toEqual([]);
    expect(kinds(p.push(`${line.slice(10)}\r\n\n`))).toEqual(["init"]);
    expect(p.push("Debugger attached.\n")).toEqual([{ kind: "noise", line: "Debugger attached." }]);
    expect(kinds(p.push('{"type":"result","subtype":"success","is_error":false,"result":"ok"}'))).toEqual([]);
    expect(kinds(p.end())).toEqual(["result"]);
    expect(parseLine("[1,2]")).toEqual([{ kind: "noise", line: "[1,2]" }]);
  });

  it("drops a line longer than the limit instead of buffering it", () => {
    const p = new StreamJsonParser(1000);
    const events = [...p.push("x".repeat(600)), ...p.push("x".repeat(600)), ...p.push("y".repeat(5000)), ...p.push('\n{"type":"result","subtype":"success","is_error":false}\n')];
    expect(kinds(events)).toEqual(["noise", "result"]);
  });

  it("gives the same events however the bytes are cut (property)", () => {
    const text = fakeOutput("noise") + fakeOutput("rate_limit_once");
    const bytes = Buffer.from(`${text}é日😀\n`);
    const expected = new StreamJsonParser().push(bytes).concat(new StreamJsonParser().end());
    fc.assert(
      fc.property(fc.array(fc.nat(bytes.length), { maxLength: 40 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const p = new StreamJsonParser();
        const got: StreamEvent[] = [];
        let prev = 0;
        for (const c of [...points, bytes.length]) {
          got.push(...p.push(bytes.subarray(prev, c)));
          prev = c;
        }
        got.push(...p.end());
        expect(JSON.stringify(got)).toBe(JSON.stringify(expected));
      }),
      { numRuns: 300 },
    );
  });

  it("every line fake-claude prints in every scenario has a known message shape", () => {
    for (const scenario of ["success", "json", "json_fenced", "usage_limit", "rate_limit_once", "overloaded_once", "output_limit_once", "prompt_too_long", "auth", "max_turns", "permission_denied", "crash", "noise"]) {
      for (const line of fakeOutput(scenario).split("\n").filter(Boolean)) {
        let json: unknown;
        try {
          json = JSON.parse(line);
        } catch {
          expect(scenario).toBe("noise");
          continue;
        }
        const checked = KnownMessage.safeParse(json);
        expect(checked.success, `${scenario}: ${line.slice(0, 120)}`).toBe(true);
      }
    }
  });
});
