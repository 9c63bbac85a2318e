import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { processStartTime } from "../../src/process/index.js";
import { runCli } from "../helpers/cli.js";
import { randomPort } from "./helpers.js";

/** One state directory, two servers: each is addressed by its port, never confused with the other. */
describe("several servers on one state directory", () => {
  const home = mkdtempSync(join(tmpdir(), "cce-ports-"));
  const a = randomPort();
  const b = a + 1;
  const pids: number[] = [];
  const env = { CC_EXECUTOR_HOME: home, CC_EXECUTOR_PORT: "", CC_EXECUTOR_TOKEN: "" };
  const record = (port: number) => JSON.parse(readFileSync(join(home, "servers", `${port}.json`), "utf8")) as { pid: number };
  const statusPid = async (port: number) => JSON.parse((await runCli(["server", "status", "--port", String(port), "--json"], { env })).stdout).pid as number;

  afterAll(() => {
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // stopped by the test
      }
    }
  });

  it("start --daemon on two ports, status and stop by port (flag or CC_EXECUTOR_PORT), a second start on a busy port refused", async () => {
    for (const port of [a, b]) {
      const started = await runCli(["server", "start", "--daemon", "--port", String(port)], { env, timeoutMs: 60_000 });
      expect([port, started.code, started.stderr]).toEqual([port, 0, expect.stringContaining(`started in the background`)]);
      pids.push(await statusPid(port));
    }
    const [pidA, pidB] = pids as [number, number];
    expect(pidA).not.toBe(pidB);

    // status answers for the port asked, not for whichever started last
    for (const [port, pid] of [[a, pidA], [b, pidB]] as const) {
      const status = await runCli(["server", "status", "--json"], { env: { ...env, CC_EXECUTOR_PORT: String(port) } });
      expect([port, status.code, JSON.parse(status.stdout).pid]).toEqual([port, 0, pid]);
    }

    // stop the first one started: the other keeps running
    const stopA = await runCli(["server", "stop", "--json"], { env: { ...env, CC_EXECUTOR_PORT: String(a) }, timeoutMs: 30_000 });
    expect(JSON.parse(stopA.stdout)).toEqual({ stopped: true, pid: pidA, port: a });
    expect(processStartTime(pidA)).toBeUndefined();
    expect(processStartTime(pidB)).toBeDefined();
    expect((await runCli(["server", "status", "--port", String(b)], { env })).code).toBe(0);
    expect((await runCli(["server", "status", "--port", String(a)], { env })).code).toBe(3);

    // a second daemon on b's port is refused and b's runtime file stays b's
    const again = await runCli(["server", "start", "--daemon", "--port", String(b)], { env, timeoutMs: 60_000 });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(new RegExp(`already running on port ${b} \\(pid ${pidB}`));
    expect(record(b).pid).toBe(pidB);

    const stopB = await runCli(["server", "stop", "--port", String(b), "--json"], { env, timeoutMs: 30_000 });
    expect(JSON.parse(stopB.stdout)).toEqual({ stopped: true, pid: pidB, port: b });
    expect((await runCli(["server", "stop", "--port", String(b)], { env })).code).toBe(3);
  }, 120_000);
});
