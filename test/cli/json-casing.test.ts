import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { FAKE_CLAUDE } from "../helpers/fake-claude.js";

let home: string;
let dir: string;
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "cce-case-"));
  dir = mkdtempSync(join(tmpdir(), "cce-case-work-"));
  env = { CC_EXECUTOR_HOME: home, CC_EXECUTOR_PORT: String(20000 + Math.floor(Math.random() * 20000)), CLAUDE_BIN: FAKE_CLAUDE, FAKE_CLAUDE_SCENARIO: "success" };
  writeFileSync(join(dir, "list.yaml"), "name: casing\ntasks:\n  - id: a\n    command: echo a\n    parallel_group: g\n    on_failure: continue\n  - id: b\n    prompt: say b\n    parallel_group: g\n");
});
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

/** Every key of a JSON document (recursively), with its path; `skip` names subtrees in other programs' formats. */
function keys(value: unknown, path = "", skip?: RegExp): Array<{ key: string; path: string }> {
  if (skip?.test(path)) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => keys(v, `${path}[${i}]`, skip));
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => [{ key: k, path: `${path}.${k}` }, ...keys(v, `${path}.${k}`, skip)]);
}

const notSnake = (doc: unknown, skip?: RegExp) => keys(doc, "", skip).filter(({ key }) => !/^[a-z0-9_]+$/.test(key));

async function json(args: string[]): Promise<unknown> {
  const r = await runCli(args, { env, cwd: dir, timeoutMs: 60_000 });
  expect([args.join(" "), r.stdout.trim().startsWith("{") || r.stdout.trim().startsWith("[")], r.stderr).toEqual([args.join(" "), true]);
  return JSON.parse(r.stdout);
}

describe("every --json document is snake_case", () => {
  it("run --json: snake_case, with the old camelCase keys as the documented aliases only", async () => {
    const doc = (await json(["run", "--json", "printf hi; exit 3"])) as Record<string, unknown>;
    expect(doc).toMatchObject({ success: false, status: "failed", exit_code: 3, stdout: "hi", exit: 3 });
    expect(typeof doc.execution_id).toBe("string");
    expect(typeof doc.duration_ms).toBe("number");
    expect(notSnake(doc).map((k) => k.key).sort()).toEqual(["durationMs", "executionId", "exitCode"]);
    expect([doc.exitCode, doc.durationMs, doc.executionId]).toEqual([doc.exit_code, doc.duration_ms, doc.execution_id]);
  });

  it("claude, tasks, history, logs, doctor, hooks, server, init, test", async () => {
    const claude = (await json(["claude", "--json", "-q", "say hi"])) as { execution_id: string };
    const summary = (await json(["tasks", "run", "-q", "--json", "list.yaml"])) as { run_id: string; tasks: Array<{ execution_id: string }> };
    const docs: Array<[string[], unknown, RegExp?]> = [
      [["claude"], claude],
      [["tasks", "run"], summary],
      [["tasks", "list", "--json"], await json(["tasks", "list", "--json"])],
      [["tasks", "show"], await json(["tasks", "show", summary.run_id, "--json"])],
      [["tasks", "validate"], await json(["tasks", "validate", "list.yaml", "--json"])],
      [["history", "list"], await json(["history", "list", "--json"])],
      [["history", "show"], await json(["history", "show", claude.execution_id, "--json"])],
      [["history", "stats"], await json(["history", "stats", "--json"])],
      [["history", "clear"], await json(["history", "clear", "--before", "3650d", "--json"])],
      [["logs", "execution"], await json(["logs", summary.tasks[0]!.execution_id, "--json"])],
      // claude's own stream-json messages keep claude's keys
      [["logs", "run"], await json(["logs", summary.run_id, "--json"]), /\.transcript$/],
      [["doctor"], await json(["doctor", "--json"])],
      // keyed by hook event names (pre-execute, ...), as in hooks.json
      [["hooks", "list"], await json(["hooks", "list", "--json"]), /\.events$/],
      [["server", "status"], await json(["server", "status", "--json"])],
      [["server", "stop"], await json(["server", "stop", "--json"])],
      [["init"], await json(["init", "--dir", dir, "--json"])],
      // the .mcp.json entry is Claude Code's format (mcpServers)
      [["init", "--mcp"], await json(["init", "--mcp", "--json"]), /\.mcp_json$/],
      [["test", "stress"], await json(["test", "stress", "--tasks", "2", "--json"])],
    ];
    for (const [what, doc, skip] of docs) expect([what.join(" "), notSnake(doc, skip)]).toEqual([what.join(" "), []]);
    // tasks validate speaks the file format's names
    const list = docs.find(([w]) => w.join(" ") === "tasks validate")![1] as { tasks: Array<Record<string, unknown>> };
    expect(list.tasks[0]).toMatchObject({ parallel_group: "g", on_failure: { action: "continue" } });
  }, 240_000);
});
