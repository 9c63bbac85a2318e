import { writeClaudeEvent } from "./claude-lines.js";
import { $, ago, badge, confirmButton, cost, duration, h, time, tokens } from "./dom.js";
import { OutputView } from "./output-view.js";
import { Rpc, RpcError } from "./rpc.js";
import { budgetText, Timeline, type BudgetInfo, type RunSummary } from "./timeline.js";
import type { ExecutionInfo } from "../../../src/server/monitor-types.js";

type RunInfo = Omit<RunSummary, "tasks"> & { live: boolean; resumable: boolean };
type Params = Record<string, unknown>;

const TOKEN_KEY = "cc-executor.token";
const RUNS_KEY = "cc-executor.started-runs";
const KIND_LABEL: Record<string, string> = { command: "cmd", claude: "claude", "task-list": "tasks" };

// ---- token: from the #fragment (never sent to the server), else this tab's sessionStorage -------

function tokenFromFragment(): string | undefined {
  const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
  if (!match) return undefined;
  history.replaceState(null, "", location.pathname + location.search); // out of the address bar and history
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return match[1];
  }
}

let token: string | undefined = tokenFromFragment();
if (token) sessionStorage.setItem(TOKEN_KEY, token);
else token = sessionStorage.getItem(TOKEN_KEY) ?? undefined;

const authHeaders = (): Record<string, string> => (token ? { Authorization: `Bearer ${token}` } : {});

// ---- connection ------------------------------------------------------------------------------

let rpc: Rpc | undefined;
let retryMs = 500;
let retryTimer: number | undefined;

function setConn(state: "connecting" | "connected" | "reconnecting" | "refused" | "offline", text?: string): void {
  const el = $("#conn");
  el.dataset.state = state;
  el.textContent = text ?? { connecting: "connecting…", connected: "● connected", reconnecting: "reconnecting…", refused: "refused", offline: "server unreachable" }[state];
}

function banner(text: string | undefined, kind: "error" | "info" = "error"): void {
  const el = $("#banner");
  el.hidden = !text;
  el.className = `banner ${kind}`;
  el.textContent = text ?? "";
}

let toastTimer: number | undefined;
function toast(text: string): void {
  banner(text, "error");
  window.clearTimeout(toastTimer);
  toastTimer = window.setTimeout(() => banner(undefined), 6000);
}

function scheduleRetry(state: "reconnecting" | "offline"): void {
  setConn(state);
  window.clearTimeout(retryTimer);
  retryTimer = window.setTimeout(() => void connect(), retryMs);
  retryMs = Math.min(retryMs * 2, 10_000);
}

function showLogin(message: string | undefined): void {
  document.body.classList.add("locked");
  $("#app").hidden = true;
  $("#login").hidden = false;
  banner(message);
  ($("#token-input") as HTMLInputElement).focus();
}

async function connect(): Promise<void> {
  setConn(rpc ? "reconnecting" : "connecting");
  let check: Response;
  try {
    check = await fetch("/auth/check", { headers: authHeaders(), cache: "no-store" });
  } catch {
    return scheduleRetry("offline");
  }
  if (check.status === 401) {
    const had = token !== undefined;
    sessionStorage.removeItem(TOKEN_KEY);
    token = undefined;
    setConn("refused");
    showLogin(had ? "The server refused this token (401 Unauthorized). Use the link printed by `cc-executor server start`, or paste the token from the state directory." : undefined);
    return;
  }
  if (!check.ok) return scheduleRetry("offline");
  let opened: Rpc;
  try {
    opened = await Rpc.open(token);
  } catch {
    return scheduleRetry("reconnecting");
  }
  rpc = opened;
  retryMs = 500;
  opened.onNotification = onNotification;
  opened.onClose = () => {
    if (rpc === opened) rpc = undefined;
    scheduleRetry("reconnecting");
  };
  setConn("connected", `● connected`);
  $("#conn").title = `session ${opened.sessionId}`;
  document.body.classList.remove("locked");
  $("#login").hidden = true;
  $("#app").hidden = false;
  banner(undefined);
  await afterConnect();
}

async function call<T = Params>(method: string, params: Params = {}): Promise<T> {
  if (!rpc) throw new RpcError(-1, "not connected");
  return rpc.call<T>(method, params);
}

async function afterConnect(): Promise<void> {
  try {
    const { executions: list } = await call<{ executions: ExecutionInfo[] }>("monitor.list", { subscribe: true });
    executions.clear();
    for (const e of list) executions.set(e.id, e);
    renderExecList();
    // Watches of the previous connection are gone with it: watch again (each view replays).
    for (const [id, set] of watchers) {
      for (const w of set) {
        w.skipReplay = false;
        w.reset();
      }
      void call("monitor.watch", { execution_id: id }).catch(() => undefined);
    }
    void reattachStartedRuns();
  } catch (err) {
    toast(`cannot list executions: ${(err as Error).message}`);
  }
  call("history.list", { limit: 1 })
    .then(() => ($('.tab[data-view="history"]').hidden = false))
    .catch(() => ($('.tab[data-view="history"]').hidden = true));
  refreshView();
}

// ---- watching: the server replays an execution's kept notifications, then sends them live ------

interface Watch {
  onEvent(method: string, params: Params): void;
  /** Called before a (re)play starts: forget what was shown. */
  reset(): void;
  /** Set while a replay meant for another watcher of the same execution goes by. */
  skipReplay?: boolean;
}

const watchers = new Map<string, Set<Watch>>();

function watch(id: string, w: Watch): void {
  let set = watchers.get(id);
  if (!set) watchers.set(id, (set = new Set()));
  for (const other of set) if (other !== w) other.skipReplay = true;
  set.add(w);
  w.skipReplay = false;
  w.reset();
  call("monitor.watch", { execution_id: id }).catch((err: Error) => {
    for (const other of set!) other.skipReplay = false;
    w.onEvent("watch.error", { message: err.message });
  });
}

function unwatch(id: string, w: Watch): void {
  const set = watchers.get(id);
  if (!set?.delete(w)) return;
  if (set.size === 0) {
    watchers.delete(id);
    void call("monitor.unwatch", { execution_id: id }).catch(() => undefined);
  }
}

function onNotification(method: string, params: Params): void {
  if (method === "monitor.execution") return upsert(params.execution as ExecutionInfo);
  const id = params.watched_id;
  if (typeof id !== "string") return; // our own runner connections' work arrives elsewhere
  for (const w of watchers.get(id) ?? []) {
    if (method === "monitor.replayed") {
      const skipped = w.skipReplay;
      w.skipReplay = false;
      if (skipped) continue;
    } else if (params.replayed && w.skipReplay) continue;
    w.onEvent(method, params);
  }
}

// ---- executions ------------------------------------------------------------------------------

const executions = new Map<string, ExecutionInfo>();
let selectedExec: ExecDetail | undefined;
let listFrame = 0;

function upsert(e: ExecutionInfo): void {
  executions.set(e.id, e);
  if (!listFrame) listFrame = requestAnimationFrame(renderExecList);
  if (selectedExec?.info.id === e.id) selectedExec.update(e);
  if (selectedRun?.runId === e.id) selectedRun.onExecution(e);
  if (e.kind === "task-list") scheduleRunsRefresh();
}

function renderExecList(): void {
  listFrame = 0;
  const all = [...executions.values()];
  const running = all.filter((e) => e.status === "running").sort((a, b) => b.started_at.localeCompare(a.started_at));
  const finished = all.filter((e) => e.status !== "running").sort((a, b) => (b.ended_at ?? "").localeCompare(a.ended_at ?? ""));
  for (const old of finished.slice(200)) executions.delete(old.id);
  const item = (e: ExecutionInfo) => {
    const when = e.status === "running" ? duration(Date.now() - Date.parse(e.started_at)) : e.ended_at ? ago(e.ended_at) : "";
    const progress = e.progress && e.progress.total ? `${e.progress.completed}/${e.progress.total}` : "";
    return h(
      "li",
      {},
      h(
        "button",
        { type: "button", className: `item${selectedExec?.info.id === e.id ? " selected" : ""}`, dataset: { id: e.id }, title: e.label, onclick: () => selectExec(e.id) },
        h("span", { className: "item-top" }, badge(e.status, e.paused), h("span", { className: `kind k-${e.kind}` }, KIND_LABEL[e.kind] ?? e.kind), progress ? h("span", { className: "muted small" }, progress) : null, h("span", { className: "when muted small" }, when)),
        h("span", { className: "item-label" }, e.label || e.id),
      ),
    );
  };
  $("#running-list").replaceChildren(...running.map(item));
  $("#finished-list").replaceChildren(...finished.slice(0, 200).map(item));
  $("#running-empty").hidden = running.length > 0;
  $("#finished-empty").hidden = finished.length > 0;
  $("#running-count").textContent = running.length ? String(running.length) : "";
}

window.setInterval(() => {
  if (!$("#view-executions").hidden && [...executions.values()].some((e) => e.status === "running")) renderExecList();
}, 1000);

function selectExec(id: string): void {
  const info = executions.get(id);
  if (!info) return;
  selectedExec?.dispose();
  selectedExec = new ExecDetail(info);
  $("#exec-detail").replaceChildren(selectedExec.root);
  renderExecList();
}

async function downloadOutput(id: string): Promise<void> {
  try {
    const res = await fetch(`/executions/${encodeURIComponent(id)}/output`, { headers: authHeaders(), cache: "no-store" });
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).trim()}`);
    const url = URL.createObjectURL(await res.blob());
    const a = h("a", { href: url, download: `${id}.log` });
    document.body.append(a);
    a.click();
    a.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
  } catch (err) {
    toast(`download failed: ${(err as Error).message}`);
  }
}

async function control(id: string, type: "PAUSE" | "RESUME" | "CANCEL"): Promise<void> {
  try {
    await call("monitor.control", { execution_id: id, type });
  } catch (err) {
    toast(`${type.toLowerCase()} failed: ${(err as Error).message}`);
  }
}

function actionButtons(info: ExecutionInfo): HTMLElement {
  const box = h("div", { className: "actions" });
  if (info.status !== "running") return box;
  if (info.paused) box.append(h("button", { type: "button", className: "resume", onclick: () => void control(info.id, "RESUME") }, "Resume"));
  else box.append(h("button", { type: "button", className: "pause", onclick: () => void control(info.id, "PAUSE") }, "Pause"));
  box.append(confirmButton("Cancel", "Really cancel?", () => void control(info.id, "CANCEL")));
  return box;
}

/** The right-hand side of the Executions view: one execution, its controls and its live output. */
class ExecDetail {
  readonly root: HTMLElement;
  private readonly out: OutputView;
  private readonly head: HTMLElement;
  private readonly note: HTMLElement;
  private readonly timeline: Timeline | undefined;
  private readonly watcher: Watch;
  private readable = true;
  private readonly claudeIds = new Set<string>();

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

  private actions: HTMLElement | undefined;
  private actionsKey = "";
  private ticker: number | undefined;

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
      case "claude.event":
        if (this.readable) writeClaudeEvent(out, (p.event ?? {}) as Params);
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
        if (p.method === "claude") this.claudeIds.add(execId);
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
      case "monitor.replayed":
        this.note.hidden = !p.tail_truncated;
        this.note.textContent = "The server keeps only the end of this output; older lines are in the full output download.";
        return;
      case "watch.error":
        out.meta(`cannot watch: ${String(p.message)}`, "meta warn");
        return;
    }
  }
}

// ---- task runs -------------------------------------------------------------------------------

let runs: RunInfo[] = [];
let selectedRun: RunDetail | undefined;
let runsTimer: number | undefined;

function scheduleRunsRefresh(): void {
  if ($("#view-runs").hidden || runsTimer !== undefined) return;
  runsTimer = window.setTimeout(() => {
    runsTimer = undefined;
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
  if (selectedRun) {
    const fresh = runs.find((r) => r.run_id === selectedRun!.runId);
    if (fresh) selectedRun.onRunInfo(fresh);
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
          { type: "button", className: `item${selectedRun?.runId === r.run_id ? " selected" : ""}`, dataset: { run: r.run_id }, onclick: () => selectRun(r.run_id) },
          h("span", { className: "item-top" }, badge(r.status), h("span", { className: "muted small" }, `${r.completed}/${r.total}`), h("span", { className: "when muted small" }, ago(r.started_at))),
          h("span", { className: "item-label" }, r.name),
        ),
      ),
    ),
  );
  $("#runs-empty").hidden = runs.length > 0;
}

function selectRun(runId: string): void {
  selectedRun?.dispose();
  selectedRun = new RunDetail(runId);
  $("#run-detail").replaceChildren(selectedRun.root);
  renderRunList();
}

/** The right-hand side of the Task runs view: one run's timeline, live while it runs. */
class RunDetail {
  readonly root: HTMLElement;
  private readonly head: HTMLElement;
  private readonly timeline = new Timeline();
  private watcher: Watch | undefined;
  private summary: RunSummary | undefined;
  private info: RunInfo | undefined;
  private lastStatus: string | undefined;

  constructor(readonly runId: string) {
    this.lastStatus = executions.get(runId)?.status;
    this.head = h("div", { className: "detail-head" });
    this.root = h("div", { className: "run-detail" }, this.head, this.timeline.root);
    this.info = runs.find((r) => r.run_id === runId);
    void this.load();
  }

  private get live(): ExecutionInfo | undefined {
    const e = executions.get(this.runId);
    return e && e.status === "running" ? e : undefined;
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

  private actions: HTMLElement | undefined;
  private actionsKey = "";

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
      const resume = () => startRun({ resume_run_id: this.runId, ...(budget ? { max_cost: Number(budget.value) } : {}) }).catch((err: Error) => toast(`resume failed: ${err.message}`));
      if (budget) actions.append(h("label", { className: "budget-input" }, "budget $", budget));
      if (resumable) actions.append(h("button", { type: "button", className: "primary", onclick: () => void resume() }, "Resume"));
    }
    if (executions.has(this.runId)) actions.append(h("button", { type: "button", onclick: () => showExecution(this.runId) }, "Output"));
    return actions;
  }
}

function showExecution(id: string): void {
  showView("executions");
  selectExec(id);
}

/**
 * Runs started from this page: each on a connection of its own, so the page's main session stays
 * free. Closing the tab detaches such a run; it keeps running for the server's resume grace period
 * (CC_EXECUTOR_RESUME_GRACE) and this tab re-attaches to it when reloaded.
 */
const runners = new Map<string, Rpc>();

function rememberRun(runId: string, on: boolean): void {
  const ids = new Set<string>(JSON.parse(sessionStorage.getItem(RUNS_KEY) ?? "[]") as string[]);
  if (on) ids.add(runId);
  else ids.delete(runId);
  sessionStorage.setItem(RUNS_KEY, JSON.stringify([...ids]));
}

function keepRunner(runId: string, runner: Rpc): void {
  runners.set(runId, runner);
  rememberRun(runId, true);
  runner.onNotification = (method) => {
    if (method === "tasklist.completed") {
      rememberRun(runId, false);
      runners.delete(runId);
      runner.close();
    }
  };
  runner.onClose = () => runners.delete(runId);
}

async function startRun(params: Params): Promise<string | undefined> {
  let runner: Rpc | undefined;
  try {
    runner = await Rpc.open(token);
    const res = await runner.call<{ run_id: string }>("run_task_list", params);
    keepRunner(res.run_id, runner);
    showView("runs");
    await refreshRuns();
    selectRun(res.run_id);
    return res.run_id;
  } catch (err) {
    runner?.close();
    throw err;
  }
}

async function reattachStartedRuns(): Promise<void> {
  const ids = JSON.parse(sessionStorage.getItem(RUNS_KEY) ?? "[]") as string[];
  for (const id of ids) {
    if (runners.has(id)) continue;
    if (executions.get(id)?.status !== "running") {
      rememberRun(id, false);
      continue;
    }
    try {
      const runner = await Rpc.open(token);
      // since_seq far ahead: nothing is replayed on this connection (the page watches instead).
      await runner.call("attach", { execution_id: id, since_seq: 2 ** 31 });
      keepRunner(id, runner);
    } catch {
      // attached elsewhere, or over: leave it
    }
  }
}

function parseEnv(text: string): Record<string, string> | undefined {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (!t || t.startsWith("#")) continue;
    const eq = t.indexOf("=");
    if (eq <= 0) throw new Error(`environment line without KEY=value: ${t}`);
    env[t.slice(0, eq).trim()] = t.slice(eq + 1);
  }
  return Object.keys(env).length ? env : undefined;
}

function setupStartForm(): void {
  const form = $("#start-form") as HTMLFormElement;
  const error = $(".form-error", form);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    error.textContent = "";
    const button = $("button[type=submit]", form) as HTMLButtonElement;
    try {
      const params: Params = { file: String(data.get("file") ?? "").trim() };
      const cwd = String(data.get("cwd") ?? "").trim();
      if (cwd) params.cwd = cwd;
      const env = parseEnv(String(data.get("env") ?? ""));
      if (env) params.env = env;
      const maxCost = Number(String(data.get("max_cost") ?? "").trim() || NaN);
      if (Number.isFinite(maxCost) && maxCost > 0) params.max_cost = maxCost;
      button.disabled = true;
      startRun(params)
        .catch((err: Error) => (error.textContent = err.message))
        .finally(() => (button.disabled = false));
    } catch (err) {
      error.textContent = (err as Error).message;
    }
  });
}

// ---- history ---------------------------------------------------------------------------------

interface HistoryRecord {
  id: string;
  kind: string;
  label: string;
  status: string;
  started_at: number;
  duration_ms?: number;
  exit_code?: number;
  error_type?: string;
  input_tokens?: number;
  output_tokens?: number;
  cost_usd?: number;
  task_list_run_id?: string;
}

let historyCursor: number | undefined;

async function loadHistory(more = false): Promise<void> {
  const form = $("#history-filters") as HTMLFormElement;
  const data = new FormData(form);
  const params: Params = { limit: 100 };
  for (const key of ["status", "kind", "q"]) {
    const v = String(data.get(key) ?? "").trim();
    if (v) params[key] = v;
  }
  if (more && historyCursor !== undefined) params.before = historyCursor;
  let records: HistoryRecord[];
  try {
    ({ executions: records } = await call<{ executions: HistoryRecord[] }>("history.list", params));
  } catch (err) {
    return toast(`cannot load history: ${(err as Error).message}`);
  }
  const rows = records.map((r) =>
    h(
      "tr",
      { className: `s-${r.status}` },
      h("td", { className: "nowrap" }, time(r.started_at)),
      h("td", {}, r.kind),
      h("td", { className: "label-cell", title: r.label }, r.label),
      h("td", {}, badge(r.status)),
      h("td", { className: "num" }, duration(r.duration_ms)),
      h("td", { className: "num" }, r.exit_code ?? r.error_type ?? ""),
      h("td", { className: "num" }, r.input_tokens !== undefined || r.output_tokens !== undefined ? tokens(r.input_tokens, r.output_tokens) : ""),
      h("td", { className: "num" }, cost(r.cost_usd)),
      h("td", { className: "small nowrap" }, r.task_list_run_id ?? ""),
    ),
  );
  const body = $("#history-body");
  if (more) body.append(...rows);
  else body.replaceChildren(...rows);
  historyCursor = records.length ? records[records.length - 1]!.started_at : historyCursor;
  $("#history-more").hidden = records.length < 100;
  $("#history-empty").hidden = body.children.length > 0;
}

function setupHistory(): void {
  const form = $("#history-filters") as HTMLFormElement;
  let timer: number | undefined;
  const reload = () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void loadHistory(), 250);
  };
  form.addEventListener("input", reload);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void loadHistory();
  });
  $("#history-more").addEventListener("click", () => void loadHistory(true));
}

// ---- server health ---------------------------------------------------------------------------

async function loadHealth(): Promise<void> {
  let health: Params;
  try {
    health = await call<Params>("health");
  } catch (err) {
    return toast(`cannot read health: ${(err as Error).message}`);
  }
  const card = (label: string, value: string, cls = "") => h("div", { className: `card stat ${cls}` }, h("div", { className: "stat-label muted" }, label), h("div", { className: "stat-value" }, value));
  const store = health.store as Params | undefined;
  const cards = [
    card("status", String(health.status ?? "?"), health.status === "healthy" ? "ok" : "bad"),
    card("version", String(health.version ?? "?")),
    card("uptime", duration(Number(health.uptime_seconds ?? 0) * 1000)),
    card("sessions", `${String(health.active_sessions ?? "?")} / ${String(health.max_sessions ?? "?")}`),
    card("processes", `${String(health.active_processes ?? "?")} / ${String(health.max_processes ?? "?")}`),
  ];
  if (store) cards.push(card(`store (${String(store.backend ?? "?")})`, String(store.status ?? "?"), store.status === "ok" ? "ok" : "bad"));
  const redis = (health.redis ?? (store?.backend === "redis" ? store : undefined)) as Params | undefined;
  if (redis && redis !== store) cards.push(card("redis", String(redis.status ?? JSON.stringify(redis))));
  $("#health-cards").replaceChildren(...cards);
  const details = Object.entries(health).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, typeof v === "object" && v !== null ? JSON.stringify(v) : String(v))]);
  details.push(h("dt", {}, "this page's session"), h("dd", {}, rpc?.sessionId ?? ""));
  $("#health-details").replaceChildren(...details);
}

// ---- views -----------------------------------------------------------------------------------

type View = "executions" | "runs" | "history" | "server";
let view: View = "executions";

function showView(next: View): void {
  view = next;
  for (const tab of document.querySelectorAll<HTMLElement>(".tab")) {
    if (tab.dataset.view === next) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  for (const v of ["executions", "runs", "history", "server"]) $(`#view-${v}`).hidden = v !== next;
  refreshView();
}

function refreshView(): void {
  if (!rpc) return;
  if (view === "runs") void refreshRuns();
  else if (view === "history") void loadHistory();
  else if (view === "server") void loadHealth();
  else renderExecList();
}

window.setInterval(() => {
  if (view === "server" && rpc) void loadHealth();
}, 5000);

function main(): void {
  for (const tab of document.querySelectorAll<HTMLElement>(".tab")) tab.addEventListener("click", () => showView(tab.dataset.view as View));
  $("#login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $("#token-input") as HTMLInputElement;
    token = input.value.trim() || undefined;
    input.value = "";
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    banner(undefined);
    void connect();
  });
  setupStartForm();
  setupHistory();
  void connect();
}

main();
