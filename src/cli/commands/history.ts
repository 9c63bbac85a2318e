import { existsSync } from "node:fs";
import { join } from "node:path";
import { InvalidArgumentError, Option, type Command } from "commander";
import { loadConfig, type Config } from "../../config.js";
import { statePaths } from "../../paths.js";
import { openStore, percentile, storeOptionsFrom, type ExecutionRecord, type Store } from "../../store/index.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { formatDuration, formatTime, info, printJson, style } from "../output.js";
import { parseAgeOption, parseLimitCount, parsePositiveInt, parseSizeOption } from "../parse-options.js";
import { limitsFrom, pruneState, type StateLimits } from "../../housekeeping/index.js";
import { pruneReportJson, printPruneReport } from "../state-prune.js";

const STATUSES = ["running", "completed", "failed", "timeout", "canceled"] as const;
const KINDS = ["command", "claude", "task"] as const;

/** "30d", "12h", "90m", "2w" -> milliseconds. */
export function parseAge(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(w|d|h|m|s)$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`expected an age such as 30d, 12h, 90m or 2w, got "${value}"`);
  const unit = { w: 7 * 86400, d: 86400, h: 3600, m: 60, s: 1 }[m[2]!.toLowerCase() as "w" | "d" | "h" | "m" | "s"];
  return Number(m[1]) * unit * 1000;
}

async function withStore<T>(fn: (store: Store, home: string, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const store = await openStore({ ...storeOptionsFrom(config), redis: { prefix: config.redisPrefix, waitMs: 1500 } });
  try {
    return await fn(store, config.home, config);
  } finally {
    await store.close();
  }
}

function statusColour(status: string) {
  return status === "completed" ? "green" : status === "running" ? "cyan" : status === "canceled" ? "yellow" : "red";
}

export interface CategoryStats {
  category: string;
  count: number;
  finished: number;
  success_rate: number;
  p50_ms: number | null;
  p90_ms: number | null;
}

/** Per estimator class: how many ran, how many succeeded, and how long successful runs took. */
export function categoryStats(records: readonly ExecutionRecord[]): CategoryStats[] {
  const groups = new Map<string, ExecutionRecord[]>();
  for (const r of records) groups.set(r.category, [...(groups.get(r.category) ?? []), r]);
  return [...groups.entries()]
    .map(([category, rs]) => {
      const finished = rs.filter((r) => r.status !== "running");
      const ok = finished.filter((r) => r.status === "completed" && r.duration_ms !== undefined).map((r) => r.duration_ms!);
      return {
        category,
        count: rs.length,
        finished: finished.length,
        success_rate: finished.length ? Math.round((finished.filter((r) => r.status === "completed").length / finished.length) * 1000) / 1000 : 0,
        p50_ms: ok.length ? percentile(ok, 50) : null,
        p90_ms: ok.length ? percentile(ok, 90) : null,
      };
    })
    .sort((a, b) => b.count - a.count);
}

/** An execution for people: dates as dates, durations as durations, files one a line. */
export function describeRecord(r: ExecutionRecord & { files: string[] }): string[] {
  const row = (k: string, v: unknown) => `${k.padEnd(16)} ${v}`;
  const lines: string[] = [];
  for (const [k, v] of Object.entries(r)) {
    if (v === undefined || k === "files" || k === "artifacts") continue;
    if (k === "started_at" || k === "ended_at") lines.push(row(k, formatTime(v as number)));
    else if (k === "duration_ms") lines.push(row("duration", formatDuration(v as number)));
    else if (k === "cost_usd") lines.push(row(k, `$${(v as number).toFixed(4)}`));
    else lines.push(row(k, typeof v === "object" ? JSON.stringify(v) : String(v)));
  }
  for (const f of r.files) lines.push(row("file", f));
  lines.push(row("output", `cc-executor logs ${r.id}`));
  return lines;
}

export function registerHistory(program: Command): void {
  const history = program.command("history").description("what ran: executions, claude tasks and task-list tasks, from the history store (SQLite, or Redis with REDIS_URL)");

  history
    .command("list")
    .description("recent executions, newest first")
    .option("-n, --limit <n>", "at most n", parsePositiveInt, 20)
    .addOption(new Option("--status <status>", "only this status").choices([...STATUSES]))
    .addOption(new Option("--kind <kind>", "only this kind").choices([...KINDS]))
    .option("--json", "print JSON")
    .action(async (flags: { limit: number; status?: (typeof STATUSES)[number]; kind?: (typeof KINDS)[number]; json?: boolean }) => {
      const records = await withStore((s) => s.listExecutions({ limit: flags.limit, status: flags.status, kind: flags.kind }));
      if (flags.json) return printJson(records);
      if (records.length === 0) return info("no executions recorded yet");
      process.stdout.write(style(`${"id".padEnd(8)}  ${"started".padEnd(19)}  ${"status".padEnd(9)} ${"duration".padStart(8)}  ${"kind".padEnd(7)} command or prompt\n`, "dim", process.stdout));
      for (const r of records) {
        const when = formatTime(r.started_at);
        const took = r.duration_ms !== undefined ? formatDuration(r.duration_ms) : "";
        process.stdout.write(`${r.id.slice(0, 8)}  ${when}  ${style(r.status.padEnd(9), statusColour(r.status), process.stdout)} ${took.padStart(8)}  ${r.kind.padEnd(7)} ${r.label.split("\n")[0]!.slice(0, 80)}\n`);
      }
    });

  history
    .command("show")
    .description("one execution in full, with the paths of its run folder's files (print its output with: cc-executor logs <id>)")
    .argument("<id>", "an execution id (or its first characters, as `history list` shows them)")
    .option("--json", "print JSON")
    .action(async (id: string, flags: { json?: boolean }) => {
      const found = await withStore(async (s, home) => {
        let record = await s.getExecution(id);
        if (!record && id.length >= 4) {
          const matches = (await s.listExecutions({ limit: 1000 })).filter((r) => r.id.startsWith(id));
          if (matches.length > 1) throw new CliError(`"${id}" matches ${matches.length} executions; give more characters`, ExitCode.usage);
          record = matches[0];
        }
        if (!record) return undefined;
        const runDir = join(statePaths(home).runsDir, record.id);
        const files = ["execution.json", "output.log", "output.log.1", "transcript.jsonl", "result.json", "events.jsonl"].map((f) => join(runDir, f)).filter((f) => existsSync(f));
        return { ...record, files };
      });
      if (!found) throw new CliError(`no execution ${id} in the history (see: cc-executor history list)`, ExitCode.usage);
      if (flags.json) return printJson(found);
      process.stdout.write(`${describeRecord(found).join("\n")}\n`);
    });

  history
    .command("stats")
    .description("per class of work: count, success rate, p50/p90 duration (what timeouts are estimated from)")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => {
      const stats = categoryStats(await withStore((s) => s.listExecutions({ limit: 1000 })));
      if (flags.json) return printJson(stats);
      if (stats.length === 0) return info("no executions recorded yet");
      process.stdout.write(`${"class".padEnd(24)} ${"count".padStart(6)} ${"success".padStart(8)} ${"p50".padStart(8)} ${"p90".padStart(8)}\n`);
      for (const c of stats) {
        const d = (ms: number | null) => (ms === null ? "-" : formatDuration(ms));
        process.stdout.write(`${c.category.padEnd(24)} ${String(c.count).padStart(6)} ${`${Math.round(c.success_rate * 100)}%`.padStart(8)} ${d(c.p50_ms).padStart(8)} ${d(c.p90_ms).padStart(8)}\n`);
      }
    });

  history
    .command("clear")
    .description("delete executions that started before a given age")
    .requiredOption("--before <age>", "e.g. 30d, 12h, 2w: delete what started longer ago than this", parseAge)
    .option("--json", "print JSON")
    .action(async (flags: { before: number; json?: boolean }) => {
      const before = Date.now() - flags.before;
      const deleted = await withStore((s) => s.clearExecutions({ before }));
      if (flags.json) return printJson({ deleted, before: new Date(before).toISOString() });
      info(`deleted ${deleted} execution(s) started before ${new Date(before).toISOString()}`);
    });

  history
    .command("prune")
    .description("delete old history rows and whole run folders (transcripts, replay files, logs), never those of running work; defaults: the configured limits")
    .option("--older-than <age>", 'rows started, and run folders last written, longer ago than this (e.g. 30d, 12h, 0s; "none": no age limit) [default: CC_EXECUTOR_HISTORY_MAX_AGE for rows, CC_EXECUTOR_RUNS_MAX_AGE for folders]', parseAgeOption)
    .option("--max-rows <n>", 'keep at most this many executions and task-list runs, the newest ("none": no limit) [default: CC_EXECUTOR_HISTORY_MAX_ROWS]', parseLimitCount)
    .option("--max-size <size>", 'delete the oldest run folders until the runs folder is under this (e.g. 2G; "none": no limit) [default: CC_EXECUTOR_RUNS_MAX_SIZE]', parseSizeOption)
    .option("--dry-run", "say what would be deleted, delete nothing")
    .option("--json", "print JSON")
    .action(async (flags: { olderThan?: number; maxRows?: number; maxSize?: number; dryRun?: boolean; json?: boolean }) => {
      const report = await withStore(async (store, home, config) => {
        const limits = pruneLimits(config, flags);
        return { json: pruneReportJson(await pruneState(home, store, limits, { dryRun: flags.dryRun }), { keep: limits.historyKeep }) };
      });
      if (flags.json) printJson(report.json);
      else printPruneReport(report.json);
      if (report.json.runs.failed.length > 0) process.exitCode = ExitCode.failure;
    });
}

/** The configured limits, with what the flags set instead (a flag's value is literal: 0s is "everything"; "none" is no limit). */
export function pruneLimits(config: Config, flags: { olderThan?: number; maxRows?: number; maxSize?: number }): StateLimits {
  const limits = limitsFrom(config);
  const orNone = (n: number) => (Number.isFinite(n) ? n : undefined);
  if (flags.olderThan !== undefined) {
    limits.runs.maxAgeMs = orNone(flags.olderThan * 1000);
    limits.historyMaxAgeMs = orNone(flags.olderThan * 1000);
  }
  if (flags.maxRows !== undefined) limits.historyKeep = orNone(flags.maxRows);
  if (flags.maxSize !== undefined) limits.runs.maxBytes = orNone(flags.maxSize);
  return limits;
}
