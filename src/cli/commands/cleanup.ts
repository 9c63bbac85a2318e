import type { Command } from "commander";
import { parseAgeOption } from "../parse-options.js";

export interface CleanupFlags {
  olderThan?: number;
  dryRun?: boolean;
  json?: boolean;
}

export function registerCleanup(program: Command): void {
  program
    .command("cleanup")
    .description("free the state directory: old run folders (outputs, transcripts, replay files) and history rows, an oversized server.log, files left by crashed processes, stale process-group records (and what a crashed server left running, verified as its own), worktrees left by parallel tasks (unmerged work stays on its branch); never anything in use")
    .option("--older-than <age>", 'run folders last written and history rows started longer ago than this (e.g. 7d, 12h, 0s) [default: CC_EXECUTOR_RUNS_MAX_AGE and CC_EXECUTOR_HISTORY_MAX_AGE]', parseAgeOption)
    .option("--dry-run", "say what would be removed, remove nothing")
    .option("--json", "print JSON")
    .action(async (flags: CleanupFlags) => (await import("../actions/cleanup.js")).cleanup(flags));
}
