import { Option, type Command } from "commander";

/**
 * The options and help text of what a request carries from the caller (declared with the command
 * tree, so they load nothing else); what they do is caller-env.ts.
 */

export interface EnvFlags {
  env?: string[];
  passEnv?: string[];
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** --env K=V and --pass-env NAME, both repeatable. */
export function addEnvOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("-e, --env <K=V>", "set a variable for the work (repeatable); added to the server's environment").argParser(collect))
    .addOption(new Option("--pass-env <NAME>", "pass this variable's value from here (repeatable); an unset NAME is an error").argParser(collect));
}

/** The --help paragraph of the commands that send work to a server. */
export const CARRIED_HELP = `What the request carries from here: the working directory, this command's options, CLAUDE_BIN
(claude work), the variables named with --env/--pass-env, and CC_EXECUTOR_SHELL, STREAM_TIMEOUT
(run) or CC_EXECUTOR_PERMISSION_MODE, _WAIT_ON_LIMIT, _CLAUDE_MAX_ATTEMPTS (claude) when set.
A running server keeps its own environment and other settings (a warning names those set here
that differ); with no server the work runs in-process with this environment.`;
