import type { ExecutionInfo } from "../../../src/server/monitor-types.js";
import { writeClaudeEvent } from "./claude-lines.js";
import { call, type Params } from "./connection.js";
import { badge, h } from "./dom.js";
import { actionButtons, downloadOutput } from "./exec-actions.js";
import { duration, time } from "./format.js";
import { writeNotice } from "./notice-lines.js";
import { OutputView } from "./output-view.js";
import { Timeline, type RunSummary } from "./timeline.js";
import { unwatch, watch, type Watch } from "./watchers.js";

/** The right-hand side of the Executions view: one execution, its controls and its live output. */
export class ExecDetail {
  readonly root: HTMLElement;
  private readonly out: OutputView;
  private readonly head: HTMLElement;
  private readonly note: HTMLElement;
  private readonly timeline: Timeline | undefined;
  private readonly watcher: Watch;
  private readable = true;
  /** Executions whose stdout is claude's stream-json (shown from claude.event when readable). */
  private readonly claudeIds = new Set<string>();
  private actions: HTMLElement | undefined;
  private actionsKey = "";
  private ticker: number | undefined;

  constructor(public info: ExecutionInfo) {
    this.out = new OutputView({ onDownload: () => void downloadOutput(info.id) });
    this.head = h("div", { className: "detail-head" });
    this.note = h("p", { className: "note muted small", hidden: true });
    const parts: Node[] = [this.head, this.note];
    if (info.kind === "task-list") {
      this.timeline = new Timeline();
      parts.push(h("details", { className: "timeline-box", open: true }, h("summary", {}, "Tasks"), this.timeline.root));
      void this.loadRun();
    }
    if (info.kind !== "command") {
      const toggle = h("input", { type: "checkbox", checked: true });
      toggle.addEventListener("change", () => {
        this.readable = toggle.checked;
        watch(info.id, this.watcher); // replays everything again in the other form
      });
      parts.push(h("label", { className: "readable small muted" }, toggle, " readable claude output (off: raw stream-json)"));
    }
    parts.push(this.out.root);
    this.root = h("div", { className: "exec-detail" }, ...parts);
    this.watcher = { onEvent: (m, p) => this.onEvent(m, p), reset: () => this.out.clear() };
    this.renderHead();
    watch(info.id, this.watcher);
  }

  private async loadRun(): Promise<void> {
    try {
      const { run } = await call<{ run: RunSummary }>("task_runs.get", { run_id: this.info.id });
      this.timeline!.load(run);
    } catch {
      // not checkpointed yet: the live notifications fill it in
    }
  }

  update(info: ExecutionInfo): void {
    this.info = info;
    this.renderHead();
  }

  dispose(): void {
    unwatch(this.info.id, this.watcher);
    this.timeline?.dispose();
    window.clearInterval(this.ticker);
  }

  private renderHead(): void {
    const e = this.info;
    // Rebuilt only when they change, so a "Really cancel?" armed by a first click survives updates.
    const key = `${e.status}/${e.paused}`;
    if (!this.actions || key !== this.actionsKey) {
      this.actions = actionButtons(e);
      this.actionsKey = key;
    }
    if (e.status === "running" && this.ticker === undefined) this.ticker = window.setInterval(() => this.renderHead(), 1000);
    if (e.status !== "running" && this.ticker !== undefined) {
      window.clearInterval(this.ticker);
      this.ticker = undefined;
    }
    const elapsed = e.status === "running" ? Date.now() - Date.parse(e.started_at) : e.duration_ms;
    const meta: Array<[string, string]> = [
      ["kind", e.kind],
      ["id", e.id],
      ["session", e.session_id.slice(0, 8)],
      ["started", time(e.started_at)],
      [e.status === "running" ? "running for" : "took", duration(elapsed)],
    ];
    if (e.pid) meta.push(["pid", String(e.pid)]);
    if (e.exit_code !== undefined && e.exit_code !== null) meta.push(["exit code", String(e.exit_code)]);
    if (e.error_type) meta.push(["error", e.error_type]);
    if (e.progress?.current) meta.push(["current task", e.progress.current]);
    this.head.replaceChildren(
      h("div", { className: "title-row" }, badge(e.status, e.paused), h("h2", { className: "label", title: e.label }, e.label || e.id), this.actions),
      h("dl", { className: "meta" }, ...meta.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v)))),
    );
  }

  private onEvent(method: string, p: Params): void {
    const out = this.out;
    this.timeline?.apply(method, p);
    const execId = String(p.execution_id ?? "");
    switch (method) {
      case "process.output":
        if (this.readable && p.type === "stdout" && this.claudeIds.has(execId)) return;
        out.append(String(p.data ?? ""), p.type === "stderr" ? "stderr" : "stdout");
        return;
      case "process.started":
        if (String(p.command ?? "").startsWith("claude ")) this.claudeIds.add(execId);
        if (this.info.kind !== "command") out.meta(`▶ ${String(p.command ?? "")} (pid ${String(p.pid)}${p.attempt ? `, attempt ${String(p.attempt)}` : ""})`);
        return;
      case "claude.event":
        if (this.readable) writeClaudeEvent(out, (p.event ?? {}) as Params);
        return;
      case "task.started":
        if (p.method === "claude") this.claudeIds.add(execId);
        writeNotice(out, method, p);
        return;
      case "monitor.replayed":
        this.note.hidden = !p.tail_truncated;
        this.note.textContent = "The server keeps only the end of this output; older lines are in the full output download.";
        return;
      default:
        writeNotice(out, method, p);
    }
  }
}
