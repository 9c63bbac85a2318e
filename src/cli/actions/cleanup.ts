import { loadConfig } from "../../config.js";
import { openGroupRegistry } from "../../doors/index.js";
import { findLeftoverFiles, pruneState, removeFiles, trimLog } from "../../housekeeping/index.js";
import { statePaths } from "../../paths.js";
import { cleanupWorktrees } from "../../tasks/index.js";
import { openStore, storeOptionsFrom } from "../../store/index.js";
import { formatBytes } from "../../units.js";
import { ExitCode } from "../exit-codes.js";
import { info, printJson } from "../output.js";
import { printPruneReport, pruneReportJson } from "../state-prune.js";
import type { CleanupFlags } from "../commands/cleanup.js";
import { pruneLimits } from "./history.js";

/**
 * `cc-executor cleanup`: everything the state directory accumulates, in one pass: old run folders
 * and history rows (the configured limits, or --older-than), an oversized server.log, files left by
 * processes that died mid-write, and the process-group records of processes that are gone (through
 * the crash reaper, which verifies each group before anything is killed). Nothing in use is touched.
 */
export async function cleanup(flags: CleanupFlags): Promise<void> {
  const config = loadConfig();
  const paths = statePaths(config.home);
  const dryRun = flags.dryRun ?? false;
  if (process.stderr.isTTY && !flags.json) info(`scanning ${paths.home} …`);

  const limits = pruneLimits(config, { olderThan: flags.olderThan });
  const store = await openStore({ ...storeOptionsFrom(config), redis: { prefix: config.redisPrefix, waitMs: 1500 } });
  let pruned;
  try {
    pruned = pruneReportJson(await pruneState(config.home, store, limits, { dryRun }), { keep: limits.historyKeep });
  } finally {
    await store.close();
  }

  const log = trimLog(paths.serverLog, { dryRun });
  // Records of dead processes: a group still running and verified as ours (a crash's leftover) is
  // killed, as the next server start would; one that cannot be verified is left alone.
  const groups = await openGroupRegistry(config).reapLeftovers(config.killGraceMs, { dryRun });
  const leftovers = findLeftoverFiles(config.home);
  const leftoverFailures = dryRun ? [] : removeFiles(leftovers);
  // Worktrees of isolated parallel tasks that their runs left (unmerged work stays on its branch).
  const worktrees = await cleanupWorktrees(config.home, { dryRun });

  const json = {
    ...pruned,
    server_log: log ?? null,
    process_groups: {
      killed: groups.reaped,
      cgroups_killed: groups.cgroups,
      stale_records: groups.stale,
      left_alone: groups.refused,
      of_live_processes: groups.skipped,
    },
    leftover_files: { files: leftovers.map((f) => ({ path: f.path, bytes: f.bytes, pid: f.pid })), failed: leftoverFailures },
    worktrees,
  };
  if (flags.json) printJson(json);
  else {
    printPruneReport(pruned);
    if (!log) info("log:     no server.log");
    else if (log.trimmed) info(`log:     ${dryRun ? "would trim" : "trimmed"} ${paths.serverLog} from ${formatBytes(log.bytes)} to ${formatBytes(log.kept_bytes)} (its last lines)`);
    else info(`log:     ${paths.serverLog} is ${formatBytes(log.bytes)}: kept`);
    const g = groups;
    const kill = dryRun ? "would kill" : "killed";
    info(
      `groups:  ${dryRun ? "would remove" : "removed"} ${g.stale.length} stale record(s)` +
        (g.reaped.length + g.cgroups.length ? `; ${kill} ${g.reaped.length + g.cgroups.length} group(s) a crashed process left running (${[...g.reaped.map((p) => `pgid ${p}`), ...g.cgroups].join(", ")})` : "") +
        (g.skipped.length ? `; ${g.skipped.length} belong to a running process` : ""),
    );
    for (const r of g.refused) info(`         left pgid ${r.pgid} alone: ${r.why}`);
    info(`files:   ${dryRun ? "would remove" : "removed"} ${leftovers.length} file(s) left by crashed processes${leftovers.length ? `: ${leftovers.map((f) => f.path).join(", ")}` : ""}`);
    for (const f of leftoverFailures) info(`         could not remove ${f.path}: ${f.error}`);
    const kept = worktrees.removed.filter((w) => w.branch_kept);
    info(
      `worktrees: ${dryRun ? "would remove" : "removed"} ${worktrees.removed.length} left by parallel tasks` +
        (kept.length ? `; their unmerged work stays on ${kept.map((w) => w.branch).join(", ")}` : "") +
        (worktrees.kept.length ? `; ${worktrees.kept.length} of running runs left alone` : ""),
    );
    for (const e of worktrees.errors) info(`         could not remove ${e.path}: ${e.message}`);
  }
  if (pruned.runs.failed.length > 0 || leftoverFailures.length > 0 || worktrees.errors.length > 0) process.exitCode = ExitCode.failure;
}
