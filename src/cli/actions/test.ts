import { existsSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { ExecutorClient } from "../../client/index.js";
import { isLoopbackHost } from "../../server/auth.js";
import { ASSESS_SUITES, DEFAULT_STRESS_PROMPT, type AssessSuite } from "../../selftest/choices.js";
import { assessMarkdown, runAssess, runStress, stressMarkdown } from "../../selftest/index.js";
import type { ConnFlags, StressFlags } from "../commands/test.js";
import { connectOrStartLocal } from "../connect.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { info, printJson, style } from "../output.js";

/** Where the checks run: the running server, or one started in this process when none answers. */
interface Target {
  connect(): Promise<ExecutorClient>;
  description: string;
  /** The server's pid when its process is on this machine. */
  serverPid?: number;
  local: boolean;
  close(): Promise<void>;
}

async function openTarget(flags: ConnFlags): Promise<Target> {
  const conn = await connectOrStartLocal({ url: flags.url, token: flags.token, local: flags.local }, flags.json || flags.quiet);
  if (conn.local) {
    const { url, token } = conn.local;
    return {
      connect: () => ExecutorClient.connect({ url, token, reconnect: false }),
      description: `in-process server (${url}; none was running)`,
      serverPid: process.pid,
      local: true,
      close: () => conn.close(),
    };
  }
  const url = conn.url;
  const loopback = isLoopbackHost(new URL(url).hostname);
  let serverPid: number | undefined;
  if (loopback) {
    try {
      // the health document over the connection the client verified (plain /health without the token names no pid)
      const body = await conn.client.request<{ pid?: number }>("health");
      if (typeof body.pid === "number" && existsSync(`/proc/${body.pid}`)) serverPid = body.pid;
    } catch {
      // no health method: memory is not reported
    }
  }
  return {
    connect: () => ExecutorClient.connect({ url, token: flags.token, reconnect: false }),
    description: url,
    serverPid,
    local: serverPid !== undefined,
    close: () => conn.close(),
  };
}

function writeReport(file: string | undefined, markdown: string): void {
  if (!file) return;
  writeFileSync(resolve(file), markdown);
  info(style(`report written to ${resolve(file)}`, "dim"));
}

/** `cc-executor test stress`: exit 0 when every task succeeded. */
export async function testStress(flags: StressFlags): Promise<void> {
  if (flags.prompt !== undefined && !flags.claude) throw new CliError("--prompt goes with --claude", ExitCode.usage);
  const target = await openTarget(flags);
  try {
    if (!flags.json && !flags.quiet) info(style(`stress: ${flags.tasks} ${flags.claude ? "claude task" : "command"}(s), ${flags.parallel} at a time, on ${target.description}`, "dim"));
    const report = await runStress({
      tasks: flags.tasks,
      parallel: flags.parallel,
      command: flags.claude ? undefined : flags.command,
      prompt: flags.claude ? (flags.prompt ?? DEFAULT_STRESS_PROMPT) : undefined,
      timeoutS: flags.timeout,
      connect: target.connect,
      serverPid: target.serverPid,
      target: target.description,
      onProgress: flags.json || flags.quiet
        ? undefined
        : (done, total, last) => {
            if (!last.ok) info(style(`  task ${last.index} ${last.status}${last.error ? `: ${last.error}` : ""}`, "red"));
            else if (done === total || done % Math.max(1, Math.round(total / 10)) === 0) info(style(`  ${done}/${total}`, "dim"));
          },
    });
    const markdown = stressMarkdown(report);
    if (flags.json) printJson(report);
    else process.stdout.write(`${markdown}\n`);
    writeReport(flags.report, markdown);
    process.exitCode = report.ok ? ExitCode.ok : ExitCode.failure;
  } finally {
    await target.close();
  }
}

/** `cc-executor test assess`: exit 0 when every check passed. */
export async function testAssess(suites: AssessSuite[] | undefined, flags: ConnFlags): Promise<void> {
  const chosen = suites && suites.length > 0 ? suites : [...ASSESS_SUITES];
  const report = await runAssess(chosen, async () => {
    const target = await openTarget(flags);
    const client = await target.connect();
    return {
      client,
      local: target.local,
      connect: target.connect,
      close: async () => {
        await client.close();
        await target.close();
      },
    };
  });
  const markdown = assessMarkdown(report);
  if (flags.json) printJson(report);
  else {
    const mark = { pass: style("PASS", "green"), fail: style("FAIL", "red"), skip: style("skip", "yellow") };
    for (const c of report.checks) info(`${mark[c.status]}  ${c.suite.padEnd(5)} ${c.name}${c.status === "pass" ? "" : ` — ${c.detail}`}`);
    info(`${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`);
  }
  writeReport(flags.report, markdown);
  process.exitCode = report.ok ? ExitCode.ok : ExitCode.failure;
}
