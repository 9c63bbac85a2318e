import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finished, runCli, spawnCli } from "../helpers/cli.js";
import { FAKE_CLAUDE } from "../helpers/fake-claude.js";
import { spawnServerProcess, type ServerProcess } from "../helpers/server-process.js";
import { waitUntil } from "../helpers/procs.js";

let home: string;
let work: string;
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "cce-logs-"));
  work = mkdtempSync(join(tmpdir(), "cce-logs-work-"));
  // A port nobody listens on: commands run in-process.
  env = { CC_EXECUTOR_HOME: home, CC_EXECUTOR_PORT: String(20000 + Math.floor(Math.random() * 20000)), CLAUDE_BIN: FAKE_CLAUDE, FAKE_CLAUDE_SCENARIO: "success" };
});
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

const runFolders = (h = home) => (existsSync(join(h, "runs")) ? readdirSync(join(h, "runs")) : []);

/** The run folder that appears after `before`. */
async function newFolder(before: string[], h = home): Promise<string> {
  let found: string | undefined;
  await waitUntil(() => (found = runFolders(h).find((n) => !before.includes(n))) !== undefined, 20_000, "a new run folder");
  return found!;
}

describe("cc-executor logs <execution id>", () => {
  it("prints a finished command's stdout and stderr in the order they came, by id prefix; --json has the record", async () => {
    const before = runFolders();
    const run = await runCli(["run", "echo one; echo two >&2; sleep 0.1; echo three; exit 3"], { env });
    expect(run.code).toBe(3);
    const id = await newFolder(before);
    const logs = await runCli(["logs", id.slice(0, 8)], { env });
    expect(logs.code).toBe(0);
    expect(logs.stdout).toBe("one\ntwo\nthree\n");
    expect(logs.stderr).toMatch(/failed · exit 3/);

    const json = JSON.parse((await runCli(["logs", id, "--json"], { env })).stdout);
    expect(json).toMatchObject({ execution_id: id, kind: "command", status: "failed", exit_code: 3, running: false, output: "one\ntwo\nthree\n", dropped_bytes: 0 });
  });

  it("-f prints a running command's output as it comes and ends when it ends (server running)", async () => {
    const server = await spawnServerProcess({}, { home });
    try {
      const senv = { ...env, CC_EXECUTOR_PORT: String(server.port) };
      const gate = join(work, `gate-${Date.now()}`);
      const before = runFolders();
      const run = finished(spawnCli(["run", `echo first; while [ ! -e ${gate} ]; do sleep 0.05; done; echo second`], { env: senv }));
      const id = await newFolder(before);
      const follower = spawnCli(["logs", "-f", id], { env: senv });
      const followed = finished(follower);
      let seen = "";
      follower.stdout!.on("data", (d: Buffer) => (seen += d.toString()));
      await waitUntil(() => seen === "first\n", 10_000, "the first line, live");
      expect(follower.exitCode).toBeNull(); // still following: the command waits for the gate
      writeFileSync(gate, "");
      const r = await followed;
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("first\nsecond\n");
      expect(r.stderr).toMatch(/completed · exit 0/);
      expect((await run).code).toBe(0);
    } finally {
      await server.stop();
    }
  }, 60_000);

  it("a claude task: readable text by default, claude's stream-json with --raw", async () => {
    const before = runFolders();
    const run = await runCli(["claude", "--quiet", "Say hi"], { env });
    expect(run.code).toBe(0);
    const id = await newFolder(before);
    const readable = await runCli(["logs", id], { env });
    expect(readable.code).toBe(0);
    expect(readable.stdout).toMatch(/── claude .* · session /);
    expect(readable.stdout).toMatch(/── result: success · \d+ turns/);
    expect(readable.stdout).not.toMatch(/"type":/);
    const raw = await runCli(["logs", id, "--raw"], { env });
    const lines = raw.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ type: "system", subtype: "init" });
    expect(lines.at(-1)).toMatchObject({ type: "result", subtype: "success" });
  });

  it("unknown ids and misused options are usage errors (exit 2)", async () => {
    const unknown = await runCli(["logs", "nosuchid"], { env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no execution or task-list run nosuchid/);
    const both = await runCli(["logs", "-f", "--json", "abcd"], { env });
    expect(both.code).toBe(2);
    const [some] = runFolders().filter((n) => !n.startsWith("tl-"));
    const task = await runCli(["logs", some!, "--task", "1"], { env });
    expect(task.code).toBe(2);
    expect(task.stderr).toMatch(/--task is for task-list runs/);
  });
});

describe("cc-executor logs <task-list run id>", () => {
  const list = () => {
    const file = join(work, `list-${Date.now()}.yaml`);
    writeFileSync(
      file,
      [
        "name: Logs demo",
        "tasks:",
        "  - id: prep",
        "    title: prep",
        "    command: echo prepared; echo warned >&2",
        "  - id: ask",
        "    title: ask",
        "    prompt: Summarise what was prepared",
        "  - id: slow",
        "    title: slow",
        `    command: echo start-3; while [ ! -e ${join(work, "gate3")} ]; do sleep 0.05; done; echo end-3`,
        "",
      ].join("\n"),
    );
    return file;
  };

  it("follows a running list task by task, then prints it whole, one task with --task, JSON with --json", async () => {
    const before = runFolders();
    const run = finished(spawnCli(["tasks", "run", list(), "--quiet"], { env, cwd: work }), 60_000);
    let runId: string | undefined;
    await waitUntil(() => (runId = runFolders().find((n) => n.startsWith("tl-") && !before.includes(n))) !== undefined, 20_000, "the run folder");
    const follower = spawnCli(["logs", "--follow", runId!], { env });
    const followed = finished(follower, 60_000);
    let seen = "";
    follower.stdout!.on("data", (d: Buffer) => (seen += d.toString()));
    await waitUntil(() => seen.includes("start-3\n"), 20_000, "the third task's first line, live");
    expect(seen).not.toContain("end-3");
    writeFileSync(join(work, "gate3"), "");
    const r = await followed;
    expect(r.code).toBe(0);
    expect((await run).code).toBe(0);
    expect(r.stdout).toMatch(/^==> \[1\/3\] prep · direct · (running|completed) <==\nprepared\nwarned\n==> \[2\/3\] ask · claude · (running|completed) <==\n── claude /);
    expect(r.stdout).toMatch(/==> \[3\/3\] slow · direct · (running|completed) <==\nstart-3\nend-3\n$/);
    expect(r.stderr).toMatch(/run tl-.*: completed/);

    const whole = await runCli(["logs", runId!], { env });
    expect(whole.stdout.match(/^==> .*<==$/gm)).toEqual(["==> [1/3] prep · direct · completed <==", "==> [2/3] ask · claude · completed <==", "==> [3/3] slow · direct · completed <=="]);

    const third = await runCli(["logs", runId!, "--task", "3"], { env });
    expect(third.stdout).toBe("==> [3/3] slow · direct · completed <==\nstart-3\nend-3\n");
    const byId = await runCli(["logs", runId!, "--task", "prep"], { env });
    expect(byId.stdout).toBe("==> [1/3] prep · direct · completed <==\nprepared\nwarned\n");
    const missing = await runCli(["logs", runId!, "--task", "9"], { env });
    expect(missing.code).toBe(2);

    const json = JSON.parse((await runCli(["logs", runId!, "--json"], { env })).stdout);
    expect(json).toMatchObject({ run_id: runId, name: "Logs demo", status: "completed" });
    expect(json.tasks.map((t: { id: string; status: string }) => [t.id, t.status])).toEqual([["prep", "completed"], ["ask", "completed"], ["slow", "completed"]]);
    expect(json.tasks[0].output).toBe("prepared\nwarned\n");
    expect(json.tasks[1].transcript[0]).toMatchObject({ type: "system", subtype: "init" });
    expect(json.tasks[1].result).toMatchObject({ success: true });
  }, 90_000);
});

describe("run folders without a server (executions whose runner died)", () => {
  it("-f stops and says so when the process writing the output is gone", async () => {
    const id = "0000dead-0000-4000-8000-000000000000";
    const dir = join(home, "runs", id);
    const { mkdirSync } = await import("node:fs");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "output.log"), "partial\n");
    // pid 2^22+1 is above Linux's pid_max: no such process.
    writeFileSync(join(dir, "execution.json"), JSON.stringify({ version: 1, execution_id: id, kind: "command", label: "x", started_at: new Date().toISOString(), writer: { pid: 4194305, host: (await import("node:os")).hostname() } }));
    const r = await runCli(["logs", "-f", id], { env, timeoutMs: 10_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("partial\n");
    expect(r.stderr).toMatch(/ended without a record \(the process that ran it is gone\)/);
  });
});
