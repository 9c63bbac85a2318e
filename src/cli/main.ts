#!/usr/bin/env node
import { VERSION } from "../version.js";
import { ExitCode } from "./exit-codes.js";
import { guardStdio, stdoutClosed } from "./stdout-closed.js";

guardStdio();
const args = process.argv.slice(2);
// `cc-executor --version` alone (what scripts and health checks call) is answered before the command
// tree loads, with the same output as the tree's --version; every other command line goes through it.
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) process.stdout.write(`${VERSION}\n`);
else await (await import("./run-program.js")).runProgram(process.argv);
if (stdoutClosed()) process.exitCode = ExitCode.stdoutClosed;
