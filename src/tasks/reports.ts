import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Logger } from "../logger.js";
import { runDir } from "./checkpoint.js";
import { markdownReport, type TaskListSummary } from "./summary.js";

/** report.md and report.json in the run folder, and the --report file if asked for; returns the summary with their paths. */
export function writeReports(home: string, summary: TaskListSummary, extra: string | undefined, logger: Logger): TaskListSummary {
  const dir = runDir(home, summary.run_id);
  const withPaths: TaskListSummary = { ...summary, report_path: join(dir, "report.md"), json_report_path: join(dir, "report.json") };
  try {
    writeFileSync(withPaths.report_path!, markdownReport(withPaths));
    writeFileSync(withPaths.json_report_path!, `${JSON.stringify(withPaths, null, 2)}\n`);
  } catch (err) {
    logger.error({ err: (err as Error).message, dir }, "cannot write the run's reports");
  }
  if (extra) {
    const target = resolve(extra);
    try {
      writeFileSync(target, target.endsWith(".json") ? `${JSON.stringify(withPaths, null, 2)}\n` : markdownReport(withPaths));
    } catch (err) {
      logger.error({ err: (err as Error).message, path: target }, "cannot write the report");
    }
  }
  return withPaths;
}
