import type { ExecutionInfo } from "../../../src/server/monitor-types.js";
import { $, badge, h } from "./dom.js";
import { ExecDetail } from "./exec-detail.js";
import { ago, duration } from "./format.js";
import { executions, executionsByState, onExecutionChange } from "./state.js";
import { registerView, showView } from "./views.js";

/** The Executions view: what runs and what finished lately, from every session; one selected in detail. */

const KIND_LABEL: Record<string, string> = { command: "cmd", claude: "claude", "task-list": "tasks" };

let selected: ExecDetail | undefined;
let listFrame = 0;

export function renderExecList(): void {
  listFrame = 0;
  const { running, finished } = executionsByState();
  const item = (e: ExecutionInfo) => {
    const when = e.status === "running" ? duration(Date.now() - Date.parse(e.started_at)) : e.ended_at ? ago(e.ended_at) : "";
    const progress = e.progress && e.progress.total ? `${e.progress.completed}/${e.progress.total}` : "";
    return h(
      "li",
      {},
      h(
        "button",
        { type: "button", className: `item${selected?.info.id === e.id ? " selected" : ""}`, dataset: { id: e.id }, title: e.label, onclick: () => selectExec(e.id) },
        h("span", { className: "item-top" }, badge(e.status, e.paused), h("span", { className: `kind k-${e.kind}` }, KIND_LABEL[e.kind] ?? e.kind), progress ? h("span", { className: "muted small" }, progress) : null, h("span", { className: "when muted small" }, when)),
        h("span", { className: "item-label" }, e.label || e.id),
      ),
    );
  };
  $("#running-list").replaceChildren(...running.map(item));
  $("#finished-list").replaceChildren(...finished.map(item));
  $("#running-empty").hidden = running.length > 0;
  $("#finished-empty").hidden = finished.length > 0;
  $("#running-count").textContent = running.length ? String(running.length) : "";
}

function selectExec(id: string): void {
  const info = executions.get(id);
  if (!info) return;
  selected?.dispose();
  selected = new ExecDetail(info);
  $("#exec-detail").replaceChildren(selected.root);
  renderExecList();
}

/** Switches to the Executions view with `id` selected. */
export function showExecution(id: string): void {
  showView("executions");
  selectExec(id);
}

export function setupExecutionsView(): void {
  registerView("executions", renderExecList);
  onExecutionChange((e) => {
    if (!listFrame) listFrame = requestAnimationFrame(renderExecList); // at most once a frame, however many arrive
    if (selected?.info.id === e.id) selected.update(e);
  });
  // The running ones' durations tick.
  window.setInterval(() => {
    if (!$("#view-executions").hidden && [...executions.values()].some((e) => e.status === "running")) renderExecList();
  }, 1000);
}
