import type { Params } from "./connection.js";
import { duration, time } from "./format.js";
import type { OutputView } from "./output-view.js";
import { budgetText, type BudgetInfo } from "./timeline.js";

/**
 * Writes the notifications that are not output (an end, a pause, a retry, a task's start and end…)
 * as one note line each in an execution's output; other notifications are left alone. Output itself
 * and claude's stream are the caller's (how they show depends on the view's settings).
 */
export function writeNotice(out: OutputView, method: string, p: Params): void {
  switch (method) {
    case "process.completed": {
      const code = p.exit_code !== null && p.exit_code !== undefined ? `, exit code ${String(p.exit_code)}` : "";
      const signal = p.signal ? `, signal ${String(p.signal)}` : "";
      out.meta(`■ ${String(p.status)}${code}${signal} after ${duration(Number(p.duration_ms ?? Number(p.execution_time) * 1000))}`, `meta end s-${String(p.status)}`);
      return;
    }
    case "process.paused":
      out.meta("⏸ paused");
      return;
    case "process.resumed":
      out.meta("▶ resumed");
      return;
    case "claude.retry":
      out.meta(`↻ retrying in ${duration(Number(p.delay_ms))}: ${String(p.reason ?? "")}`, "meta warn");
      return;
    case "claude.waiting":
      out.meta(`… waiting for the usage limit to reset at ${time(String(p.until))}`, "meta warn");
      return;
    case "claude.completed": {
      const r = (p.result ?? {}) as Params;
      out.meta(r.success ? `✔ claude task completed${r.uuid_verified ? " · UUID verified" : ""}` : `✗ claude task failed: ${String(r.error_type ?? "")} ${String(r.message ?? "")}`, r.success ? "meta ok" : "meta warn");
      return;
    }
    case "error.rate_limit_exceeded":
    case "error.token_limit_exceeded":
      out.meta(`⚠ ${String(p.error_type ?? "")}: ${String(p.message ?? "")}`, "meta warn");
      return;
    case "hook.warning":
      out.meta(`⚠ hook ${String(p.hook ?? "")} (${String(p.event ?? "")}): ${String(p.message ?? "")}`, "meta warn");
      return;
    case "task.started":
      out.meta(`━━ task ${String(p.index)}: ${String(p.title)} (${String(p.method)}, attempt ${String(p.attempt)}) ━━`, "meta task");
      return;
    case "task.completed":
    case "task.failed": {
      const o = (p.outcome ?? {}) as Params;
      out.meta(`${p.status === "completed" ? "✔" : "✗"} task ${String(p.index)} ${String(p.status)} in ${duration(Number(o.duration_ms))}${p.will_retry ? " (will retry)" : ""}`, p.status === "completed" ? "meta ok" : "meta warn");
      return;
    }
    case "task.skipped":
      out.meta(`⏭ task ${String(p.index)} skipped: ${String(p.reason ?? "")}`);
      return;
    case "task.merge": {
      const m = (p.merge ?? {}) as Params;
      const ok = m.status === "merged" || m.status === "empty";
      out.meta(`${ok ? "⎇" : "✗"} task ${String(p.index)} merge ${String(m.status)}: ${String(m.message ?? m.branch ?? "")}`, ok ? "meta ok" : "meta warn");
      return;
    }
    case "tasklist.budget":
      out.meta(`budget: ${budgetText(p.budget as BudgetInfo)}`, (p.budget as BudgetInfo).exhausted ? "meta warn" : "meta");
      return;
    case "claude.session":
      out.meta(p.resumed ? `↪ attempt ${String(p.attempt)} continues session ${String(p.session_id)}` : `↪ session ${String(p.session_id)} could not be continued (${String(p.fallback ?? "")}); starting afresh`, p.resumed ? "meta" : "meta warn");
      return;
    case "tasklist.completed":
      out.meta(`━━ run ${String(p.status)} ━━`, p.status === "completed" ? "meta ok" : "meta warn");
      return;
    case "monitor.dropped":
      if (Number(p.lost) > 0) out.meta(`… ${String(p.lost)} notification(s) not shown: this page fell behind (the download has more)`, "meta warn");
      return;
    case "watch.error":
      out.meta(`cannot watch: ${String(p.message)}`, "meta warn");
      return;
    default:
      return;
  }
}
