import { call, isConnected, sessionId, type Params } from "./connection.js";
import { $, h } from "./dom.js";
import { fieldLabel, fieldList } from "./fields.js";
import { duration } from "./format.js";
import { toast } from "./notices.js";
import { currentView, registerView } from "./views.js";

/**
 * The Server view: the health document, refreshed every 5 seconds while it shows. The cards give
 * the headline figures; below, every other field once, grouped and labelled: the server's own
 * scalars, then one group per object (store, containment, storage…).
 */

/** Groups in this order (the rest after them, as the document has them). */
const GROUP_ORDER = ["store", "storage", "containment"];

/** Health fields a card shows: not listed again below. */
const ON_CARDS = new Set(["status", "version", "uptime_seconds", "active_sessions", "max_sessions", "active_processes", "max_processes"]);

/** An object with fields: it gets a (sub-)section of its own; an empty one is a plain "none". */
const isSection = (v: unknown): v is Params => typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length > 0;

function card(label: string, value: string, cls = ""): HTMLElement {
  return h("div", { className: `card stat ${cls}` }, h("div", { className: "stat-label muted" }, label), h("div", { className: "stat-value" }, value));
}

function cards(health: Params): HTMLElement[] {
  const store = isSection(health.store) ? health.store : undefined;
  const list = [
    card("status", String(health.status ?? "?"), health.status === "healthy" ? "ok" : "bad"),
    card("version", String(health.version ?? "?")),
    card("uptime", duration(Number(health.uptime_seconds ?? 0) * 1000)),
    card("sessions", `${String(health.active_sessions ?? "?")} / ${String(health.max_sessions ?? "?")}`),
    card("processes", `${String(health.active_processes ?? "?")} / ${String(health.max_processes ?? "?")}`),
  ];
  if (store) list.push(card("store", String(store.status ?? "?"), store.status === "ok" ? "ok" : "bad"));
  return list;
}

/** Fields from which a group is tall: it spans two grid rows, so short groups stack beside it. */
const TALL = 10;

/** A titled box of fields; its object-valued fields become sub-sections of their own. */
function group(key: string, title: string, fields: Params, extra: Array<[string, string]> = []): HTMLElement {
  const scalars = Object.entries(fields).filter(([, v]) => !isSection(v));
  const objects = Object.entries(fields).filter(([, v]) => isSection(v)) as Array<[string, Params]>;
  const size = scalars.length + extra.length + objects.reduce((n, [, v]) => n + Object.keys(v).length, 0);
  return h(
    "section",
    { className: `card group${size >= TALL ? " tall" : ""}`, dataset: { group: key } },
    h("h2", {}, title),
    scalars.length || extra.length ? fieldList(Object.fromEntries(scalars), extra) : null,
    ...objects.map(([k, v]) => h("div", { className: "subgroup", dataset: { group: k } }, h("h3", {}, fieldLabel(k)), fieldList(v))),
  );
}

function groups(health: Params): HTMLElement[] {
  const own = Object.fromEntries(Object.entries(health).filter(([k, v]) => !ON_CARDS.has(k) && !isSection(v)));
  const list = [group("server", "Server", own, [["this page's session", sessionId()]])];
  const rank = (k: string) => (GROUP_ORDER.includes(k) ? GROUP_ORDER.indexOf(k) : GROUP_ORDER.length);
  const sections = Object.entries(health).filter((e): e is [string, Params] => isSection(e[1]));
  for (const [k, v] of sections.sort((a, b) => rank(a[0]) - rank(b[0]))) {
    // The store's status is on its card.
    const fields = k === "store" ? Object.fromEntries(Object.entries(v).filter(([f]) => f !== "status")) : v;
    list.push(group(k, fieldLabel(k).replace(/^./, (c) => c.toUpperCase()), fields));
  }
  return list;
}

async function loadHealth(): Promise<void> {
  let health: Params;
  try {
    health = await call<Params>("health");
  } catch (err) {
    return toast(`cannot read health: ${(err as Error).message}`);
  }
  $("#health-cards").replaceChildren(...cards(health));
  $("#health-groups").replaceChildren(...groups(health));
}

export function setupServerView(): void {
  registerView("server", () => void loadHealth());
  window.setInterval(() => {
    if (currentView() === "server" && isConnected()) void loadHealth();
  }, 5000);
}
