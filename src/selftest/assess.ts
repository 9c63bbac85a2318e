import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { trustHooksFile } from "../hooks/index.js";
import { ExecutorClient, RpcClientError } from "../client/index.js";
import { loadConfig } from "../config.js";
import { startServer } from "../server/index.js";
import { haveProc, liveGroupMembers, liveWithCmdline, uniqueSleep, waitFor } from "./procs.js";
import { inFrozenCgroup } from "../process/cgroup.js";
import type { AssessSuite } from "./choices.js";

/**
 * `cc-executor test assess`: behavioural self-checks of this install, each one a real action whose
 * effect is checked where it happens (the process table, the files, the exit code), not in our
 * own bookkeeping.
 */


export interface AssessCheck {
  suite: AssessSuite;
  name: string;
  status: "pass" | "fail" | "skip";
  detail: string;
  ms: number;
}

export interface AssessReport {
  kind: "assess";
  ok: boolean;
  suites: AssessSuite[];
  passed: number;
  failed: number;
  skipped: number;
  checks: AssessCheck[];
  started_at: string;
}

class Skip extends Error {}

type Body = () => Promise<string>;

async function check(suite: AssessSuite, name: string, body: Body): Promise<AssessCheck> {
  const t0 = performance.now();
  try {
    const detail = await body();
    return { suite, name, status: "pass", detail, ms: Math.round(performance.now() - t0) };
  } catch (err) {
    return { suite, name, status: err instanceof Skip ? "skip" : "fail", detail: (err as Error).message, ms: Math.round(performance.now() - t0) };
  }
}

function must(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

// ---- core: execution through the server --------------------------------------------------------

export interface CoreTarget {
  client: ExecutorClient;
  /** The process table shows the server's children: it runs on this machine (in-process or loopback). */
  local: boolean;
  /** Opens a second session to the same server. */
  connect(): Promise<ExecutorClient>;
}

async function coreChecks(target: CoreTarget): Promise<AssessCheck[]> {
  const { client } = target;
  const needProc = () => {
    if (!target.local || !haveProc()) throw new Skip("the server is not on this machine (or there is no /proc): the process table cannot be checked from here");
  };
  const checks: AssessCheck[] = [];
  checks.push(
    await check("core", "execute: output and exit code", async () => {
      const tag = `assess-${randomBytes(4).toString("hex")}`;
      const ok = await client.execute(`echo ${tag}; echo to-stderr >&2`, { timeout: 30 });
      must(ok.status === "completed" && ok.exitCode === 0, `expected completed/0, got ${ok.status}/${ok.exitCode}`);
      must(ok.stdout === `${tag}\n` && ok.stderr === "to-stderr\n", `wrong output: ${JSON.stringify(ok.stdout)} ${JSON.stringify(ok.stderr)}`);
      const bad = await client.execute("exit 3", { timeout: 30 });
      must(bad.status === "failed" && bad.exitCode === 3, `exit 3 reported as ${bad.status}/${bad.exitCode}`);
      return "stdout, stderr and exit codes come back as printed";
    }),
  );
  checks.push(
    await check("core", "streamed output is complete and in order", async () => {
      const r = await client.execute("seq 1 100000", { timeout: 60 });
      const want = Array.from({ length: 100_000 }, (_, i) => `${i + 1}\n`).join("");
      must(r.status === "completed" && r.stdout === want, `seq 1 100000 came back with ${r.stdout.length} characters (want ${want.length})`);
      return `${want.length} bytes, every line in order`;
    }),
  );
  checks.push(
    await check("core", "timeout kills the whole process group", async () => {
      needProc();
      const s = uniqueSleep();
      const r = await client.execute(`sleep ${s} & sleep ${s} & sh -c 'sleep ${s}'`, { timeout: 1 });
      must(r.status === "timeout", `reported ${r.status}, not timeout`);
      must(r.exitCode !== 0, "a timed-out process reported exit code 0");
      must(await waitFor(() => liveWithCmdline(`sleep ${s}`).length === 0, 5000), `${liveWithCmdline(`sleep ${s}`).length} process(es) of the group still alive`);
      return "status timeout, and no process of the group (children, grandchildren) is left in /proc";
    }),
  );
  checks.push(
    await check("core", "cancel kills the whole process group", async () => {
      needProc();
      const s = uniqueSleep();
      let status = "";
      for await (const ev of client.stream(`sleep ${s} & sleep ${s}; wait`, { timeout: 60 })) {
        if (ev.method === "process.started") {
          must(await waitFor(() => liveWithCmdline(`sleep ${s}`).length === 2, 5000), "the command did not start");
          await client.cancel();
        }
        if (ev.method === "process.completed") status = String((ev.params as { status: string }).status);
      }
      must(status === "canceled", `reported ${status}, not canceled`);
      must(await waitFor(() => liveWithCmdline(`sleep ${s}`).length === 0, 5000), "processes of the canceled group are still alive");
      return "status canceled, nothing of it left in /proc";
    }),
  );
  checks.push(
    await check("core", "pause stops the group, resume continues it", async () => {
      needProc();
      let pgid = 0;
      let lines = "";
      let status = "";
      let paused = false;
      for await (const ev of client.stream("for i in $(seq 1 30); do echo $i; sleep 0.05; done", { timeout: 60 })) {
        if (ev.method === "process.started") pgid = Number((ev.params as { pgid: number }).pgid);
        if (ev.method === "process.output") {
          lines += String((ev.params as { data: string }).data);
          if (!paused) {
            paused = true;
            await client.pause();
            // SIGSTOP shows as state T; a frozen cgroup (cgroup containment) stops them without a signal.
            const stopped = (p: { pid: number; state: string }) => p.state === "T" || inFrozenCgroup(p.pid);
            must(await waitFor(() => liveGroupMembers(pgid).length > 0 && liveGroupMembers(pgid).every(stopped), 5000), "the group is not stopped (state T, or a frozen cgroup) after PAUSE");
            const before = lines.length;
            await new Promise((r) => setTimeout(r, 300));
            must(lines.length === before, "output kept coming while paused");
            await client.resume();
          }
        }
        if (ev.method === "process.completed") status = String((ev.params as { status: string }).status);
      }
      must(status === "completed", `after resume it ended ${status}`);
      must(lines === Array.from({ length: 30 }, (_, i) => `${i + 1}\n`).join(""), "output lost or reordered across pause/resume");
      return "every process of the group stopped (state T or frozen cgroup) while paused, no output, then all 30 lines";
    }),
  );
  checks.push(
    await check("core", "a disconnected client leaves no orphans", async () => {
      needProc();
      const s = uniqueSleep();
      const other = await target.connect();
      try {
        let refused: Error | undefined;
        other.execute(`sleep ${s} & sleep ${s}; wait`, { timeout: 60 }).catch((err: Error) => (refused = err));
        const started = await waitFor(() => refused !== undefined || liveWithCmdline(`sleep ${s}`).length === 2, 5000);
        if (refused && !/connection closed/.test(refused.message)) throw refused;
        must(started, "the command did not start");
      } finally {
        await other.close();
      }
      must(await waitFor(() => liveWithCmdline(`sleep ${s}`).length === 0, 8000), "processes of the disconnected session are still alive");
      // let the server finish its bookkeeping of that execution before the next check (or its shutdown)
      for (let i = 0; i < 40; i++) {
        const h = await client.request<{ active_processes?: number }>("health").catch(() => ({ active_processes: 0 }));
        if (!h.active_processes) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      return "closing the connection killed its process group";
    }),
  );
  return checks;
}

// ---- cli: the installed command-line tool --------------------------------------------------------

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cliEntry(): string {
  const here = fileURLToPath(new URL("../cli/main.js", import.meta.url));
  return existsSync(here) ? here : process.argv[1]!;
}

function runCli(args: string[], timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliEntry(), ...args], { env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`cc-executor ${args.join(" ")} did not finish within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.once("error", (err) => (clearTimeout(timer), reject(err)));
    child.once("close", (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
  });
}

async function cliChecks(): Promise<AssessCheck[]> {
  const checks: AssessCheck[] = [];
  checks.push(
    await check("cli", "--help lists the commands", async () => {
      const r = await runCli(["--help"]);
      must(r.code === 0, `exit ${r.code}`);
      for (const cmd of ["server", "run", "tasks", "doctor", "test"]) must(new RegExp(`^\\s+${cmd}\\b`, "m").test(r.stdout), `--help does not list ${cmd}`);
      return `${cliEntry()} --help`;
    }),
  );
  checks.push(
    await check("cli", "run streams output and passes the exit code through", async () => {
      const r = await runCli(["run", "echo from-the-cli; echo err >&2; exit 5"]);
      must(r.code === 5, `exit ${r.code}, expected 5 (stderr: ${r.stderr.trim().slice(0, 200)})`);
      must(r.stdout === "from-the-cli\n", `stdout ${JSON.stringify(r.stdout)}`);
      must(r.stderr.includes("err\n"), "the command's stderr did not reach stderr");
      return r.stderr.includes("in-process") ? "through an in-process server (none running)" : "through the running server";
    }),
  );
  checks.push(
    await check("cli", "run --json prints one result object", async () => {
      const r = await runCli(["run", "--json", "printf json-ok"]);
      must(r.code === 0, `exit ${r.code}: ${r.stderr.trim().slice(0, 200)}`);
      const parsed = JSON.parse(r.stdout) as { success: boolean; status: string; stdout: string; exit_code: number };
      must(parsed.success === true && parsed.status === "completed" && parsed.stdout === "json-ok" && parsed.exit_code === 0, `unexpected result ${r.stdout.slice(0, 200)}`);
      return "success, status, stdout and exit_code as printed";
    }),
  );
  checks.push(
    await check("cli", "run --timeout kills and exits 124", async () => {
      const s = uniqueSleep();
      const r = await runCli(["run", "--timeout", "1", `sleep ${s}`]);
      must(r.code === 124, `exit ${r.code}, expected 124`);
      if (haveProc()) must(await waitFor(() => liveWithCmdline(`sleep ${s}`).length === 0, 5000), "the timed-out command is still running");
      return "exit 124, nothing left running";
    }),
  );
  checks.push(
    await check("cli", "doctor --json answers", async () => {
      const r = await runCli(["doctor", "--json"]);
      const parsed = JSON.parse(r.stdout) as { ok: boolean; checks: Array<{ name: string; status: string }> };
      must(Array.isArray(parsed.checks) && parsed.checks.length > 0, "no checks");
      must((r.code === 0) === parsed.ok, `exit ${r.code} does not match ok=${parsed.ok}`);
      const failing = parsed.checks.filter((c) => c.status === "fail").map((c) => c.name);
      return failing.length ? `doctor reports problems: ${failing.join(", ")} (see cc-executor doctor)` : `${parsed.checks.length} checks, none failing`;
    }),
  );
  return checks;
}

// ---- hooks: a refusing pre-execute hook is honoured ----------------------------------------------

async function hooksChecks(): Promise<AssessCheck[]> {
  const project = mkdtempSync(join(tmpdir(), "cce-assess-hooks-"));
  const home = join(project, "state");
  const word = `forbidden-${randomBytes(4).toString("hex")}`;
  const seen = join(project, "post-execute.log");
  mkdirSync(join(project, ".cc-executor"), { recursive: true });
  writeFileSync(
    join(project, ".cc-executor", "hooks.json"),
    JSON.stringify({
      hooks: {
        "pre-execute": [{ name: "assess-guard", command: `case "$CC_EXECUTOR_COMMAND" in *${word}*) echo '{"proceed": false, "message": "refused by the assess hook"}';; esac` }],
        "post-execute": [{ name: "assess-log", command: `echo "$CC_EXECUTOR_STATUS $CC_EXECUTOR_EXIT_CODE" >> "${seen}"` }],
      },
    }),
  );
  // a project's hooks run only once trusted (as `cc-executor hooks trust` does)
  trustHooksFile(home, join(project, ".cc-executor", "hooks.json"));
  const checks: AssessCheck[] = [];
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let client: ExecutorClient | undefined;
  try {
    const config = loadConfig({ overrides: { host: "127.0.0.1", port: 0, home, logLevel: "silent", token: randomBytes(24).toString("base64url"), auth: true }, env: {}, cwd: project });
    server = await startServer(config, { projectDir: project });
    client = await ExecutorClient.connect({ url: server.url, token: server.token, reconnect: false });
    const c = client;
    checks.push(
      await check("hooks", "hooks.json is loaded", async () => {
        const status = (await c.hookStatus()) as { enabled: boolean; events: Record<string, number> };
        must(status.enabled && status.events["pre-execute"] === 1 && status.events["post-execute"] === 1, `hook_status: ${JSON.stringify(status).slice(0, 200)}`);
        return "hook_status lists the pre-execute and post-execute hooks";
      }),
    );
    checks.push(
      await check("hooks", "a refusing pre-execute hook stops the command", async () => {
        const marker = join(project, "must-not-exist");
        try {
          await c.execute(`echo ${word} && touch "${marker}"`, { timeout: 30 });
          throw new Error("the command was accepted");
        } catch (err) {
          must(err instanceof RpcClientError && err.code === -32001, `expected -32001, got ${(err as Error).message}`);
          must(err.message.includes("refused by the assess hook"), `the hook's message is missing: ${err.message}`);
        }
        must(!existsSync(marker), "the refused command ran anyway");
        return "-32001 with the hook's message, and the command did not run";
      }),
    );
    checks.push(
      await check("hooks", "other commands run, and post-execute hooks see their result", async () => {
        const r = await c.execute("echo allowed; exit 4", { timeout: 30 });
        must(r.status === "failed" && r.exitCode === 4 && r.stdout === "allowed\n", `got ${r.status}/${r.exitCode} ${JSON.stringify(r.stdout)}`);
        must(await waitFor(() => existsSync(seen) && readFileSync(seen, "utf8").includes("failed 4"), 10_000), "the post-execute hook did not record the result");
        return "the post-execute hook got status failed and exit code 4";
      }),
    );
  } catch (err) {
    checks.push({ suite: "hooks", name: "start a server with a test hooks.json", status: "fail", detail: (err as Error).message, ms: 0 });
  } finally {
    await client?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
    rmSync(project, { recursive: true, force: true });
  }
  return checks;
}

// ---- report ---------------------------------------------------------------------------------------

export async function runAssess(suites: AssessSuite[], core: () => Promise<CoreTarget & { close(): Promise<void> }>): Promise<AssessReport> {
  const started = new Date();
  const checks: AssessCheck[] = [];
  for (const suite of suites) {
    if (suite === "core") {
      let target: (CoreTarget & { close(): Promise<void> }) | undefined;
      try {
        target = await core();
        checks.push(...(await coreChecks(target)));
      } catch (err) {
        checks.push({ suite: "core", name: "connect to the server", status: "fail", detail: (err as Error).message, ms: 0 });
      } finally {
        await target?.close().catch(() => undefined);
      }
    } else if (suite === "cli") checks.push(...(await cliChecks()));
    else checks.push(...(await hooksChecks()));
  }
  const count = (s: AssessCheck["status"]) => checks.filter((c) => c.status === s).length;
  return { kind: "assess", ok: count("fail") === 0, suites, passed: count("pass"), failed: count("fail"), skipped: count("skip"), checks, started_at: started.toISOString() };
}

export function assessMarkdown(r: AssessReport): string {
  const mark = { pass: "PASS", fail: "**FAIL**", skip: "skip" };
  return [
    `# cc-executor self-assessment: ${r.ok ? "PASS" : "FAIL"}`,
    "",
    `- started: ${r.started_at}`,
    `- suites: ${r.suites.join(", ")}`,
    `- ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`,
    "",
    "| suite | check | result | ms | detail |",
    "| --- | --- | --- | --- | --- |",
    ...r.checks.map((c) => `| ${c.suite} | ${c.name} | ${mark[c.status]} | ${c.ms} | ${c.detail.replace(/\|/g, "\\|").replace(/\n/g, " ")} |`),
    "",
  ].join("\n");
}
