import { existsSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { ExecutorClient } from "../../client/index.js";
import { isLoopbackHost } from "../../server/auth.js";
import { ASSESS_SUITES, assessMarkdown, DEFAULT_STRESS_COMMAND, DEFAULT_STRESS_PROMPT, runAssess, runStress, stressMarkdown, type AssessSuite } from "../../selftest/index.js";
import { connectOrStartLocal } from "../connect.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { info, printJson, style } from "../output.js";
import { parsePositiveInt, parsePositiveNumber } from "../parse-options.js";

interface ConnFlags {
  url?: string;
  token?: string;
  local: boolean;
  json?: boolean;
  report?: string;
  quiet?: boolean;
}

interface StressFlags extends ConnFlags {
  tasks: number;
  parallel: number;
  command?: string;
  claude?: boolean;
  prompt?: string;
  timeout?: number;
}

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

function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option("--url <url>", "server WebSocket URL (default ws://127.0.0.1:8003/ws/mcp)")
    .option("--token <token>", "auth token (default: CC_EXECUTOR_TOKEN or the state directory's token file)")
    .option("--no-local", "fail instead of starting an in-process server when none is running")
    .option("--json", "print the report as JSON")
    .option("-q, --quiet", "no progress on stderr (the report is still printed)")
    .option("--report <file>", "also write the report as markdown to this file");
}

function writeReport(file: string | undefined, markdown: string): void {
  if (!file) return;
  writeFileSync(resolve(file), markdown);
  info(style(`report written to ${resolve(file)}`, "dim"));
}

function parseSuite(value: string, previous: AssessSuite[] = []): AssessSuite[] {
  if (value === "all") return [...new Set([...previous, ...ASSESS_SUITES])];
  if (!(ASSESS_SUITES as readonly string[]).includes(value)) throw new InvalidArgumentError(`unknown suite "${value}": use ${ASSESS_SUITES.join(", ")} or all`);
  return [...new Set([...previous, value as AssessSuite])];
}

export function registerTest(program: Command): void {
  const test = program.command("test").description("check this install: stress (load through the server) and assess (behavioural self-checks)");

  addConnectionOptions(
    test
      .command("stress")
      .description("run many real executions through the server; report latency percentiles, throughput, failures and server memory")
      .option("-n, --tasks <n>", "how many executions", parsePositiveInt, 10)
      .option("-p, --parallel <n>", "how many at once (one session each)", parsePositiveInt, 2)
      .option("--command <cmd>", `shell command per task; {i} is replaced by the task number (default: ${DEFAULT_STRESS_COMMAND}, whose output is checked too)`)
      .option("--claude", "run claude tasks (cc_execute) with the configured claude binary instead of shell commands")
      .option("--prompt <text>", `prompt for --claude; {i} as above (default: "${DEFAULT_STRESS_PROMPT}")`)
      .option("-t, --timeout <seconds>", "limit per task", parsePositiveNumber),
  )
    .addHelpText(
      "after",
      `
Exit code 0 when every task succeeded, 1 otherwise. Without a running server the tasks run
through an in-process one (its memory is this process's).

Examples:
  cc-executor test stress --tasks 200 --parallel 20
  cc-executor test stress --command "sleep 0.5; echo {i}" --tasks 50 --parallel 10 --json
  cc-executor test stress --claude --tasks 4 --parallel 2 --report stress.md`,
    )
    .action(async (flags: StressFlags) => {
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
    });

  addConnectionOptions(
    test
      .command("assess")
      .description("behavioural self-checks of this install, checked in the process table and on disk: core, cli, hooks (default: all)")
      .argument("[suites...]", "core | cli | hooks | all", (v: string, prev: AssessSuite[] | undefined) => parseSuite(v, prev)),
  )
    .addHelpText(
      "after",
      `
Suites:
  core   execute (output, exit codes), a 100,000-line stream, timeout and cancel kill the whole
         process group, pause stops it (state T) and resume continues it, a dropped client leaves
         no orphans; through the running server (or an in-process one)
  cli    this cc-executor binary: --help, run (exit code passed through), run --json,
         run --timeout (exit 124), doctor --json
  hooks  an in-process server with a temporary hooks.json: a refusing pre-execute hook stops the
         command (-32001, it does not run), post-execute hooks see the result

Exit code 0 when every check passed (skipped ones do not count), 1 otherwise.`,
    )
    .action(async (suites: AssessSuite[] | undefined, flags: ConnFlags) => {
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
    });
}
