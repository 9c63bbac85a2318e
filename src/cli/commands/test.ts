import { InvalidArgumentError, type Command } from "commander";
import { ASSESS_SUITES, DEFAULT_STRESS_COMMAND, DEFAULT_STRESS_PROMPT, type AssessSuite } from "../../selftest/choices.js";
import { parsePositiveInt, parsePositiveNumber } from "../parse-options.js";

export interface ConnFlags {
  url?: string;
  token?: string;
  local: boolean;
  json?: boolean;
  report?: string;
  quiet?: boolean;
}

export interface StressFlags extends ConnFlags {
  tasks: number;
  parallel: number;
  command?: string;
  claude?: boolean;
  prompt?: string;
  timeout?: number;
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
    .action(async (flags: StressFlags) => (await import("../actions/test.js")).testStress(flags));

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
    .action(async (suites: AssessSuite[] | undefined, flags: ConnFlags) => (await import("../actions/test.js")).testAssess(suites, flags));
}
