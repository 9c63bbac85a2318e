#!/usr/bin/env node
import { CommanderError } from "commander";
import { ConfigError } from "../config.js";
import { StartupError } from "../server/index.js";
import { CliError, ExitCode } from "./exit-codes.js";
import { error } from "./output.js";
import { buildProgram } from "./program.js";
import { guardStdio, stdoutClosed } from "./stdout-closed.js";
import { COMPLETE, writeCandidates } from "./completion.js";

guardStdio();
const program = buildProgram();

try {
  // What the completion scripts call at each TAB (`cc-executor __complete <words...>`): not a
  // command of the tree, so that no word typed so far (--help, --version) is acted on.
  if (process.argv[2] === COMPLETE) writeCandidates(program, process.argv.slice(3));
  else await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version end here with code 0; usage mistakes get 2.
    process.exitCode = err.exitCode === 0 ? 0 : ExitCode.usage;
  } else if (err instanceof CliError) {
    error(err.message);
    process.exitCode = err.exitCode;
  } else if (err instanceof ConfigError || err instanceof StartupError) {
    error(err.message);
    process.exitCode = ExitCode.usage;
  } else {
    error((err as Error).message ?? String(err));
    process.exitCode = ExitCode.failure;
  }
}
if (stdoutClosed()) process.exitCode = ExitCode.stdoutClosed;
