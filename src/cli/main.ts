#!/usr/bin/env node
import * as nodeModule from "node:module";
import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";
import { VERSION } from "../version.js";
import { ExitCode } from "./exit-codes.js";
import { guardStdio, stdoutClosed } from "./stdout-closed.js";

/**
 * Node 22.1+ can keep V8's compiled code of the modules a process loads, so that the next command
 * does not compile them again. The cache is the user's own (XDG_CACHE_HOME or ~/.cache), never the
 * shared temporary directory, where another user could plant code. Node 20 has no such cache:
 * nothing happens. NODE_DISABLE_COMPILE_CACHE=1 (node's own switch) turns it off.
 */
function useCompileCache(): void {
  const enable = (nodeModule as { enableCompileCache?: (dir: string) => unknown }).enableCompileCache;
  if (!enable) return;
  const xdg = process.env.XDG_CACHE_HOME;
  try {
    enable(join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".cache"), "cc-executor"));
  } catch {
    // no cache: the command runs the same, compiling as it goes
  }
}

guardStdio();
const args = process.argv.slice(2);
// `cc-executor --version` alone (what scripts and health checks call) is answered before the command
// tree loads, with the same output as the tree's --version; every other command line goes through it.
if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) process.stdout.write(`${VERSION}\n`);
else {
  useCompileCache();
  await (await import("./run-program.js")).runProgram(process.argv);
}
if (stdoutClosed()) process.exitCode = ExitCode.stdoutClosed;
