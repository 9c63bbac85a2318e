import { InvalidArgumentError, Option, type Command } from "commander";
import { parseAgeOption, parseLimitCount, parsePositiveInt, parseSizeOption } from "../parse-options.js";

const STATUSES = ["running", "completed", "failed", "timeout", "canceled"] as const;
const KINDS = ["command", "claude", "task"] as const;

/** "30d", "12h", "90m", "2w" -> milliseconds. */
export function parseAge(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(w|d|h|m|s)$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`expected an age such as 30d, 12h, 90m or 2w, got "${value}"`);
  const unit = { w: 7 * 86400, d: 86400, h: 3600, m: 60, s: 1 }[m[2]!.toLowerCase() as "w" | "d" | "h" | "m" | "s"];
  return Number(m[1]) * unit * 1000;
}

export type ListFlags = { limit: number; status?: (typeof STATUSES)[number]; kind?: (typeof KINDS)[number]; json?: boolean };
export type PruneFlags = { olderThan?: number; maxRows?: number; maxSize?: number; dryRun?: boolean; json?: boolean };

export function registerHistory(program: Command): void {
  const history = program.command("history").description("what ran: executions, claude tasks and task-list tasks, from the history store (SQLite, or Redis with REDIS_URL)");

  history
    .command("list")
    .description("recent executions, newest first")
    .option("-n, --limit <n>", "at most n", parsePositiveInt, 20)
    .addOption(new Option("--status <status>", "only this status").choices([...STATUSES]))
    .addOption(new Option("--kind <kind>", "only this kind").choices([...KINDS]))
    .option("--json", "print JSON")
    .action(async (flags: ListFlags) => (await import("../actions/history.js")).historyList(flags));

  history
    .command("show")
    .description("one execution in full, with the paths of its run folder's files (print its output with: cc-executor logs <id>)")
    .argument("<id>", "an execution id (or its first characters, as `history list` shows them)")
    .option("--json", "print JSON")
    .action(async (id: string, flags: { json?: boolean }) => (await import("../actions/history.js")).historyShow(id, flags));

  history
    .command("stats")
    .description("per class of work: count, success rate, p50/p90 duration (what timeouts are estimated from)")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => (await import("../actions/history.js")).historyStats(flags));

  history
    .command("clear")
    .description("delete executions that started before a given age")
    .requiredOption("--before <age>", "e.g. 30d, 12h, 2w: delete what started longer ago than this", parseAge)
    .option("--json", "print JSON")
    .action(async (flags: { before: number; json?: boolean }) => (await import("../actions/history.js")).historyClear(flags));

  history
    .command("prune")
    .description("delete old history rows and whole run folders (transcripts, replay files, logs), never those of running work; defaults: the configured limits")
    .option("--older-than <age>", 'rows started, and run folders last written, longer ago than this (e.g. 30d, 12h, 0s; "none": no age limit) [default: CC_EXECUTOR_HISTORY_MAX_AGE for rows, CC_EXECUTOR_RUNS_MAX_AGE for folders]', parseAgeOption)
    .option("--max-rows <n>", 'keep at most this many executions and task-list runs, the newest ("none": no limit) [default: CC_EXECUTOR_HISTORY_MAX_ROWS]', parseLimitCount)
    .option("--max-size <size>", 'delete the oldest run folders until the runs folder is under this (e.g. 2G; "none": no limit) [default: CC_EXECUTOR_RUNS_MAX_SIZE]', parseSizeOption)
    .option("--dry-run", "say what would be deleted, delete nothing")
    .option("--json", "print JSON")
    .action(async (flags: PruneFlags) => (await import("../actions/history.js")).historyPrune(flags));
}
