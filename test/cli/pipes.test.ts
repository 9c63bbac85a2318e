import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/store/index.js";
import { CLI } from "../helpers/cli.js";
import { processTable, waitUntil } from "../helpers/procs.js";

let home: string;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "cce-pipes-"));
  env = { ...process.env, NO_COLOR: "1", CC_EXECUTOR_HOME: home, CC_EXECUTOR_PORT: String(20000 + Math.floor(Math.random() * 20000)) };
  // Enough history that `history list -n 1000` overflows a pipe's buffer (64 KiB) long before it is done.
  const store = await openStore({ home });
  for (let i = 0; i < 1000; i++) {
    await store.recordExecutionStart({ id: `exec-${String(i).padStart(5, "0")}-${"x".repeat(20)}`, kind: "command", label: `echo ${"history line ".repeat(6)}${i}`, digest: "d", category: "cmd:echo", started_at: Date.now() - i * 1000 });
  }
  await store.close();
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

/** Runs a shell pipeline with bash; returns each stage's exit status and the last stage's output. */
function pipeline(script: string): Promise<{ statuses: number[]; stdout: string; stderr: string }> {
  const child = spawn("bash", ["-c", `${script}; echo "PIPESTATUS=\${PIPESTATUS[*]}" >&2`], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    child.on("close", () => {
      const statuses = (/PIPESTATUS=([\d ]+)/.exec(stderr)?.[1] ?? "").trim().split(" ").map(Number);
      resolve({ statuses, stdout, stderr: stderr.replace(/PIPESTATUS=.*\n/, "") });
    }),
  );
}

const cli = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)}`;

describe("a closed stdout ends the command quietly (exit 141, as a tool killed by SIGPIPE)", () => {
  it("history list | head -1", async () => {
    const r = await pipeline(`${cli} history list -n 1000 | head -1`);
    expect(r.stdout.split("\n").filter(Boolean)).toHaveLength(1);
    expect(r.statuses).toEqual([141, 0]);
    expect(r.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
  }, 60_000);

  it("tasks list | (a reader that is already gone)", async () => {
    // The reader exits before the CLI has started: its first write hits a closed pipe.
    const r = await pipeline(`${cli} tasks list --json | true`);
    expect(r.statuses).toEqual([141, 0]);
    expect(r.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
  }, 60_000);

  it('run "seq 1 100000" | head -2: quiet, 141, and nothing left running', async () => {
    const r = await pipeline(`${cli} run "seq 1 100000" | head -2`);
    expect(r.stdout).toBe("1\n2\n");
    expect(r.statuses).toEqual([141, 0]);
    expect(r.stderr).not.toMatch(/EPIPE|Error|\n\s+at |canceled|killed/);
  }, 60_000);

  it("run of an endless writer | head -2: the command is canceled (its process is gone)", async () => {
    const marker = `pipes-${process.pid}-${Date.now()}`;
    const r = await pipeline(`${cli} run "yes ${marker}" | head -2`);
    expect(r.stdout).toBe(`${marker}\n${marker}\n`);
    expect(r.statuses).toEqual([141, 0]);
    await waitUntil(() => !processTable().some((p) => p.cmdline === `yes ${marker}` && p.state !== "Z"), 10_000, "the command to be gone");
  }, 60_000);
});
