import { call, type Params } from "./connection.js";
import { $, badge, h } from "./dom.js";
import { cost, dateTime, duration, tokens } from "./format.js";
import { toast } from "./notices.js";
import { registerView } from "./views.js";

/** The History view: the store's execution records, newest first, filtered, paged back with "Load more". */

/** A record as history.list gives it (times in epoch ms). */
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

const PAGE = 100;
/** started_at of the last record shown: the next page starts before it. */
let cursor: number | undefined;

function row(r: HistoryRecord): HTMLTableRowElement {
  return h(
    "tr",
    { className: `s-${r.status}` },
    h("td", { className: "nowrap" }, dateTime(r.started_at)),
    h("td", {}, r.kind),
    h("td", { className: "label-cell", title: r.label }, r.label),
    h("td", {}, badge(r.status)),
    h("td", { className: "num" }, duration(r.duration_ms)),
    h("td", { className: "num" }, r.exit_code ?? r.error_type ?? ""),
    h("td", { className: "num" }, r.input_tokens !== undefined || r.output_tokens !== undefined ? tokens(r.input_tokens, r.output_tokens) : ""),
    h("td", { className: "num" }, cost(r.cost_usd)),
    h("td", { className: "small nowrap" }, r.task_list_run_id ?? ""),
  );
}

async function loadHistory(more = false): Promise<void> {
  const data = new FormData($("#history-filters") as HTMLFormElement);
  const params: Params = { limit: PAGE };
  for (const key of ["status", "kind", "q"]) {
    const v = String(data.get(key) ?? "").trim();
    if (v) params[key] = v;
  }
  if (more && cursor !== undefined) params.before = cursor;
  let records: HistoryRecord[];
  try {
    ({ executions: records } = await call<{ executions: HistoryRecord[] }>("history.list", params));
  } catch (err) {
    return toast(`cannot load history: ${(err as Error).message}`);
  }
  const body = $("#history-body");
  if (more) body.append(...records.map(row));
  else body.replaceChildren(...records.map(row));
  cursor = records.length ? records[records.length - 1]!.started_at : cursor;
  $("#history-more").hidden = records.length < PAGE;
  $("#history-empty").hidden = body.children.length > 0;
}

/** Shows the History tab only when the server keeps a history (history.list answers). */
export function detectHistory(): void {
  const tab = $('.tab[data-view="history"]');
  call("history.list", { limit: 1 })
    .then(() => (tab.hidden = false))
    .catch(() => (tab.hidden = true));
}

export function setupHistoryView(): void {
  registerView("history", () => void loadHistory());
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
