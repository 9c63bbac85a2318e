import { call, isConnected, sessionId, type Params } from "./connection.js";
import { $, h } from "./dom.js";
import { duration } from "./format.js";
import { toast } from "./notices.js";
import { currentView, registerView } from "./views.js";

/** The Server view: the health document, refreshed every 5 seconds while it shows. */

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
  details.push(h("dt", {}, "this page's session"), h("dd", {}, sessionId()));
  $("#health-details").replaceChildren(...details);
}

export function setupServerView(): void {
  registerView("server", () => void loadHealth());
  window.setInterval(() => {
    if (currentView() === "server" && isConnected()) void loadHealth();
  }, 5000);
}
