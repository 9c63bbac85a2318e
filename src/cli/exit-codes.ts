import { constants } from "node:os";

/**
 * Exit codes of the CLI: one table for every command (docs/cli.md "Exit codes" and the README list
 * them; test/cli/exit-codes.test.ts checks both against this object and runs each case).
 * `run` also passes its command's own code through (128 + N for a signal N).
 */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** The server could not be reached (server status, commands that need a server). */
  unreachable: 3,
  /** Not done yet, run the same command again: `wait` (the run is still running), `--detach` (the server is still starting; nothing was started). */
  notYet: 4,
  /** Stopped because its budget (--max-cost / --max-tokens) was spent; a task list can be resumed with a larger one. */
  budgetExhausted: 5,
  /** A usage or rate limit, or an overloaded API: try again later (EX_TEMPFAIL). */
  tryLater: 75,
  /** The command was killed by its timeout (as coreutils `timeout`). */
  timeout: 124,
  /** The claude binary was not found (as a shell's "command not found"). */
  claudeNotFound: 127,
  /** Interrupted with Ctrl-C or canceled. */
  interrupted: 130,
  /** stdout was closed by its reader (`| head`): ended quietly, as a tool killed by SIGPIPE (128 + 13). */
  stdoutClosed: 141,
} as const;

/** The exit code a shell would show for a process: its own code, or 128 + signal number. */
export function exitCodeFor(result: { status: string; exitCode: number | null; signal: string | null }): number {
  if (result.status === "timeout") return ExitCode.timeout;
  if (result.status === "canceled") return ExitCode.interrupted;
  if (result.exitCode !== null) return result.exitCode;
  const signo = result.signal ? (constants.signals as Record<string, number>)[result.signal] : undefined;
  return signo ? 128 + signo : ExitCode.failure;
}

/** An error that carries the exit code the CLI should end with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.failure,
  ) {
    super(message);
    this.name = "CliError";
  }
}
