#!/usr/bin/env node
import { CommanderError } from "commander";
import { ConfigError } from "../config.js";
import { StartupError } from "../server/index.js";
import { CliError, ExitCode } from "./exit-codes.js";
import { error } from "./output.js";
import { buildProgram } from "./program.js";
import { guardStdio, stdoutClosed } from "./stdout-closed.js";

guardStdio();
const program = buildProgram();

try {
  await program.parseAsync(process.argv);
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
