import type { ExecutionInfo } from "../../../src/server/monitor-types.js";
import { call, type Params } from "./connection.js";
import { badge, h } from "./dom.js";
import { actionButtons } from "./exec-actions.js";
import { showExecution } from "./executions-view.js";
import { time } from "./format.js";
import { toast } from "./notices.js";
import { executions, runningExecution } from "./state.js";
import { Timeline, type RunSummary } from "./timeline.js";
import { unwatch, watch, type Watch } from "./watchers.js";

/** A run as task_runs.list gives it: its summary without task rows, whether it runs, whether it can be resumed. */
export type RunInfo = Omit<RunSummary, "tasks"> & { live: boolean; resumable: boolean };

/** Starts a run (here: resumes this one) and shows it. */
export type StartRun = (params: Params) => Promise<unknown>;

/** The right-hand side of the Task runs view: one run's timeline, live while it runs. */
export class RunDetail {
  readonly root: HTMLElement;
  private readonly head: HTMLElement;
  private readonly timeline = new Timeline();
  private watcher: Watch | undefined;
  private summary: RunSummary | undefined;
  private lastStatus: string | undefined;
  private actions: HTMLElement | undefined;
  private actionsKey = "";

  constructor(
    readonly runId: string,
    private info: RunInfo | undefined,
    private readonly startRun: StartRun,
  ) {
    this.lastStatus = executions.get(runId)?.status;
    this.head = h("div", { className: "detail-head" });
    this.root = h("div", { className: "run-detail" }, this.head, this.timeline.root);
    void this.load();
  }

  private get live(): ExecutionInfo | undefined {
    return runningExecution(this.runId);
  }

  async load(): Promise<void> {
    try {
      const { run } = await call<{ run: RunSummary }>("task_runs.get", { run_id: this.runId });
      this.summary = run;
      this.timeline.load(run);
    } catch (err) {
      this.head.replaceChildren(h("p", { className: "bad" }, `cannot load ${this.runId}: ${(err as Error).message}`));
      return;
    }
    this.syncWatch();
    this.renderHead();
  }

  /** Watches the run while it is live, so the timeline follows it. */
  private syncWatch(): void {
    if (this.live && !this.watcher) {
      this.watcher = { onEvent: (m, p) => this.timeline.apply(m, p), reset: () => undefined };
      watch(this.runId, this.watcher);
    } else if (!this.live && this.watcher) {
      unwatch(this.runId, this.watcher);
      this.watcher = undefined;
    }
  }

  onExecution(e: ExecutionInfo): void {
    const was = this.lastStatus;
    this.lastStatus = e.status;
    // Started (resumed) or ended: the checkpoint has news; otherwise only the header changes.
    if (was !== undefined && was !== e.status) void this.load();
    else this.renderHead();
  }

  onRunInfo(info: RunInfo): void {
    this.info = info;
    this.renderHead();
  }

  dispose(): void {
    if (this.watcher) unwatch(this.runId, this.watcher);
    this.timeline.dispose();
  }

  private renderHead(): void {
    const s = this.summary;
    if (!s) return;
    const live = this.live;
    const status = live ? "running" : this.timeline.status ?? s.status;
    // Rebuilt only when they change, so a "Really cancel?" armed by a first click survives updates.
    const key = `${status}/${String(live?.paused)}/${String(this.info?.resumable)}/${String(executions.has(this.runId))}`;
    if (!this.actions || key !== this.actionsKey) {
      this.actionsKey = key;
      this.actions = this.buildActions(s, status, live);
    }
    const meta: Array<[string, string]> = [
      ["run", s.run_id],
      ["source", s.source ?? ""],
      ["started", time(s.started_at)],
    ];
    if (s.ended_at && !live) meta.push(["ended", time(s.ended_at)]);
    if (s.state_path) meta.push(["checkpoint", s.state_path]);
    this.head.replaceChildren(
      h("div", { className: "title-row" }, badge(status, live?.paused), h("h2", { className: "label" }, s.name), this.actions),
      h("dl", { className: "meta" }, ...meta.filter(([, v]) => v).map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v)))),
    );
  }

  private buildActions(s: RunSummary, status: string, live: ExecutionInfo | undefined): HTMLElement {
    const actions = live ? actionButtons(live) : h("div", { className: "actions" });
    if (!live) {
      const resumable = this.info?.resumable ?? (s.resume_command !== undefined && status !== "completed");
      // A run stopped by its budget resumes with a larger one (the new total).
      const budget = status === "budget_exhausted" ? h("input", { type: "number", name: "max_cost", min: "0", step: "any", title: "new total budget in US dollars", value: String(Math.max(1, 2 * (s.budget?.max_cost_usd ?? 0))) }) : undefined;
      const resume = () => this.startRun({ resume_run_id: this.runId, ...(budget ? { max_cost: Number(budget.value) } : {}) }).catch((err: Error) => toast(`resume failed: ${err.message}`));
      if (budget) actions.append(h("label", { className: "budget-input" }, "budget $", budget));
      if (resumable) actions.append(h("button", { type: "button", className: "primary", onclick: () => void resume() }, "Resume"));
    }
    if (executions.has(this.runId)) actions.append(h("button", { type: "button", onclick: () => showExecution(this.runId) }, "Output"));
    return actions;
  }
}
