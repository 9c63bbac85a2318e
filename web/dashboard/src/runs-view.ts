import { call, type Params } from "./connection.js";
import { $, badge, h } from "./dom.js";
import { ago } from "./format.js";
import { toast } from "./notices.js";
import { RunDetail, type RunInfo } from "./run-detail.js";
import { startRun } from "./run-starter.js";
import { setupStartForm } from "./start-form.js";
import { onExecutionChange } from "./state.js";
import { registerView, showView } from "./views.js";

/** The Task runs view: every run in the state directory, the start form, one run selected in detail. */

let runs: RunInfo[] = [];
let selected: RunDetail | undefined;
let refreshTimer: number | undefined;

/** A task list started or ended: reload the list soon (once for a burst), when it shows. */
function scheduleRunsRefresh(): void {
  if ($("#view-runs").hidden || refreshTimer !== undefined) return;
  refreshTimer = window.setTimeout(() => {
    refreshTimer = undefined;
    void refreshRuns();
  }, 300);
}

async function refreshRuns(): Promise<void> {
  try {
    ({ runs } = await call<{ runs: RunInfo[] }>("task_runs.list", { limit: 200 }));
  } catch (err) {
    return toast(`cannot list task runs: ${(err as Error).message}`);
  }
  renderRunList();
  if (selected) {
    const fresh = runs.find((r) => r.run_id === selected!.runId);
    if (fresh) selected.onRunInfo(fresh);
  }
}

function renderRunList(): void {
  $("#run-list").replaceChildren(
    ...runs.map((r) =>
      h(
        "li",
        {},
        h(
          "button",
          { type: "button", className: `item${selected?.runId === r.run_id ? " selected" : ""}`, dataset: { run: r.run_id }, onclick: () => selectRun(r.run_id) },
          h("span", { className: "item-top" }, badge(r.status), h("span", { className: "muted small" }, `${r.completed}/${r.total}`), h("span", { className: "when muted small" }, ago(r.started_at))),
          h("span", { className: "item-label" }, r.name),
        ),
      ),
    ),
  );
  $("#runs-empty").hidden = runs.length > 0;
}

function selectRun(runId: string): void {
  selected?.dispose();
  selected = new RunDetail(
    runId,
    runs.find((r) => r.run_id === runId),
    startAndShow,
  );
  $("#run-detail").replaceChildren(selected.root);
  renderRunList();
}

/** Starts (or resumes) a run from the page and selects it. */
async function startAndShow(params: Params): Promise<string> {
  const runId = await startRun(params);
  showView("runs");
  await refreshRuns();
  selectRun(runId);
  return runId;
}

export function setupRunsView(): void {
  registerView("runs", () => void refreshRuns());
  setupStartForm(startAndShow);
  onExecutionChange((e) => {
    if (selected?.runId === e.id) selected.onExecution(e);
    if (e.kind === "task-list") scheduleRunsRefresh();
  });
}
