import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import * as nodeModule from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Command } from "commander";
import { buildProgram } from "../../src/cli/program.js";
import { finished, runCli, spawnCli } from "../helpers/cli.js";
import { liveSleeps, uniqueSleep, waitUntil } from "../helpers/procs.js";

let home: string;
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), "cce-cli-"));
  // A port nobody listens on: `run` must fall back to an in-process server.
  env = { CC_EXECUTOR_HOME: home, CC_EXECUTOR_PORT: String(20000 + Math.floor(Math.random() * 20000)) };
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("cc-executor run (no server running: in-process)", () => {
  it("streams stdout and stderr and exits with the command's code", async () => {
    const r = await runCli(["run", "echo hello; echo oops >&2; exit 3"], { env });
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("hello\n");
    expect(r.stderr).toContain("oops\n");
    expect(r.stderr).toContain("running in-process");
  });

  it("--timeout kills the group, says so, exits 124", async () => {
    const s = uniqueSleep();
    const r = await runCli(["run", "--timeout", "1", `sleep ${s}`], { env });
    expect(r.code).toBe(124);
    expect(r.stderr).toMatch(/timed out after/);
    expect(liveSleeps(s)).toEqual([]);
  });

  it("--json prints one result object", async () => {
    const r = await runCli(["run", "--json", "printf hi"], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ success: true, status: "completed", exitCode: 0, stdout: "hi" });
  });

  it("Ctrl-C cancels the command: no orphans, exit 130", async () => {
    const s = uniqueSleep();
    const child = spawnCli(["run", `sleep ${s}`], { env });
    const result = finished(child);
    await waitUntil(() => liveSleeps(s).length === 1, 10_000, "command running");
    child.kill("SIGINT");
    const r = await result;
    expect(r.code).toBe(130);
    expect(liveSleeps(s)).toEqual([]);
  });

  it("--no-local fails clearly when no server runs (exit 3: not reachable)", async () => {
    const r = await runCli(["run", "--no-local", "true"], { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot connect/);
  });

  it("a bad option value is a usage error (exit 2)", async () => {
    const r = await runCli(["run", "--timeout", "soon", "true"], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/positive number/);
  });

  it("a bad environment value is rejected naming the variable", async () => {
    const r = await runCli(["server", "status"], { env: { ...env, CC_EXECUTOR_PORT: "eighty" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/CC_EXECUTOR_PORT="eighty"/);
  });
});

describe("cc-executor server", () => {
  it("start --daemon, status, run through it, stop", async () => {
    const start = await runCli(["server", "start", "--daemon"], { env });
    expect(start.code).toBe(0);
    expect(start.stderr).toMatch(/started in the background \(pid \d+\)/);
    expect(statSync(join(home, "token")).mode & 0o777).toBe(0o600);

    const status = await runCli(["server", "status", "--json"], { env });
    expect(status.code).toBe(0);
    const health = JSON.parse(status.stdout);
    expect(health).toMatchObject({ status: "healthy", service: "cc-executor" });

    const run = await runCli(["run", "echo via-server"], { env });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("via-server\n");
    expect(run.stderr).not.toContain("in-process");

    // The background server runs with glibc's malloc tuned; the commands it runs do not inherit that.
    const pid = Number(/pid (\d+)/.exec(start.stderr)![1]);
    if (process.platform === "linux") expect(readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")).toContain("MALLOC_MMAP_THRESHOLD_=65536");
    const childEnv = await runCli(["run", "env"], { env });
    expect(childEnv.code).toBe(0);
    expect(childEnv.stdout).toContain("PYTHONUNBUFFERED=1");
    expect(childEnv.stdout).not.toMatch(/MALLOC_MMAP_THRESHOLD_|CC_EXECUTOR_MALLOC_TUNED/);

    const again = await runCli(["server", "start", "--daemon"], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already running/);

    const stop = await runCli(["server", "stop"], { env });
    expect(stop.code).toBe(0);
    const after = await runCli(["server", "status"], { env });
    expect(after.code).toBe(3);
    expect(after.stderr).toMatch(/not running/);
  }, 60_000);

  it("after kill -9 of the server, the next start reaps the groups it left", async () => {
    const s = uniqueSleep();
    const start = await runCli(["server", "start", "--daemon"], { env });
    expect(start.code).toBe(0);
    const pid = Number(/pid (\d+)/.exec(start.stderr)![1]);
    const run = spawnCli(["run", `sleep ${s} & sleep ${s}`], { env });
    const runDone = finished(run);
    await waitUntil(() => liveSleeps(s).length === 2, 10_000, "commands running");
    process.kill(pid, "SIGKILL");
    await runDone;
    // The server is gone but its process group lives on (own session): the leftover a crash leaves.
    await new Promise((r) => setTimeout(r, 300));
    expect(liveSleeps(s).length).toBe(2);
    const restart = await runCli(["server", "start", "--daemon"], { env });
    expect(restart.code).toBe(0);
    await waitUntil(() => liveSleeps(s).length === 0, 10_000, "leftovers reaped");
    expect((await runCli(["server", "stop"], { env })).code).toBe(0);
  }, 60_000);

  it("foreground start stops cleanly on SIGTERM, killing running groups", async () => {
    const port = String(20000 + Math.floor(Math.random() * 20000));
    const fgEnv = { ...env, CC_EXECUTOR_PORT: port };
    const server = spawnCli(["server", "start"], { env: fgEnv });
    const serverDone = finished(server);
    for (let i = 0; i < 100; i++) {
      if ((await runCli(["server", "status"], { env: fgEnv })).code === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const s = uniqueSleep();
    const run = spawnCli(["run", `sleep ${s}`], { env: fgEnv });
    const runDone = finished(run);
    await waitUntil(() => liveSleeps(s).length === 1, 10_000, "command running");
    server.kill("SIGTERM");
    const exit = await serverDone;
    expect(exit.code).toBe(0);
    expect(liveSleeps(s)).toEqual([]);
    const r = await runDone;
    expect(r.code).not.toBe(0);
  }, 60_000);

  it("--help on every command (the whole command tree), each with a description", async () => {
    const paths: string[][] = [];
    const walk = (cmd: Command, path: string[]) => {
      paths.push(path);
      for (const sub of cmd.commands) walk(sub, [...path, sub.name()]);
    };
    walk(buildProgram(), []);
    expect(paths.length).toBeGreaterThan(25);
    for (let i = 0; i < paths.length; i += 8) {
      const batch = paths.slice(i, i + 8);
      const runs = await Promise.all(batch.map((path) => runCli([...path, "--help"], { env })));
      runs.forEach((r, j) => {
        expect([batch[j], r.code]).toEqual([batch[j], 0]);
        expect(r.stdout).toMatch(new RegExp(`Usage: cc-executor${batch[j]!.map((w) => ` ${w}`).join("")}`));
        expect(r.stdout.split("\n").filter(Boolean).length).toBeGreaterThan(2); // usage, description, options
      });
    }
  }, 180_000); // 30+ cold CLI starts: minutes on a loaded two-core machine

  it("a command line naming a command builds only that command, with the same options and help as in the whole tree", () => {
    const whole = buildProgram();
    const find = (root: Command, path: string[]) => path.reduce<Command | undefined>((cmd, name) => cmd?.commands.find((c) => c.name() === name), root);
    const helps = (root: Command, path: string[]): string[] => {
      const cmd = find(root, path)!;
      return [cmd.helpInformation(), ...cmd.commands.flatMap((sub) => helps(root, [...path, sub.name()]))];
    };
    expect(whole.commands.length).toBeGreaterThan(10);
    for (const name of whole.commands.map((c) => c.name())) {
      const one = buildProgram(name);
      expect(one.commands.map((c) => c.name())).toEqual([name]);
      expect(helps(one, [name])).toEqual(helps(whole, [name]));
    }
    // anything else gets the whole tree: --help, `help`, a misspelt command (commander suggests the right one)
    for (const word of [undefined, "--help", "help", "rnu"]) expect(buildProgram(word).commands.length).toBe(whole.commands.length);
  });
});

describe("compiled-code cache", () => {
  it("kept in the user's own cache directory where node has one (22.1+); on Node 20 nothing is written", async () => {
    const cache = mkdtempSync(join(tmpdir(), "cce-xdg-"));
    try {
      const r = await runCli(["--help"], { env: { ...env, XDG_CACHE_HOME: cache } });
      expect(r.code).toBe(0);
      const written = readdirSync(cache, { recursive: true, encoding: "utf8" });
      if (typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === "function") {
        expect(written.some((f) => f.startsWith("cc-executor/v") && f.split("/").length > 2)).toBe(true);
      } else {
        expect(written).toEqual([]);
      }
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});

describe("cc-executor init", () => {
  it("writes the orchestrator prompt, a sample task list and a commented config, and keeps existing files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cce-init-"));
    const first = await runCli(["init", "--dir", dir, "--json"], { env });
    expect(JSON.parse(first.stdout)).toEqual({ written: ["cc_execute.md", "tasks.example.md", ".cc-executor/config.env"], skipped: [] });
    const second = await runCli(["init", "--dir", dir, "--json"], { env });
    expect(JSON.parse(second.stdout).skipped).toHaveLength(3);
    expect(statSync(join(dir, "cc_execute.md")).size).toBeGreaterThan(1000);
  });
});

describe("cc-executor doctor", () => {
  it("reports each check and fails (exit 1) when a configured Redis is unreachable", async () => {
    const ok = await runCli(["doctor", "--json"], { env: { ...env, CLAUDE_BIN: "/nonexistent/claude" } });
    const report = JSON.parse(ok.stdout);
    expect(report.checks.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(["node", "claude", "shell", "state dir", "token file", "server", "redis", "sqlite"]));
    expect(report.checks.find((c: { name: string }) => c.name === "claude").detail).toMatch(/CLAUDE_BIN=\/nonexistent\/claude/);
    const bad = await runCli(["doctor"], { env: { ...env, REDIS_URL: "redis://127.0.0.1:1" } });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL\s+redis/); // the report is data: stdout
  });
});
