import { isConnected } from "./connection.js";
import { $ } from "./dom.js";

/** The four tabs: which view shows, and refreshing it when it is shown or the connection comes back. */

export type View = "executions" | "runs" | "history" | "server";
const VIEWS: readonly View[] = ["executions", "runs", "history", "server"];

const refreshers = new Map<View, () => void>();
let current: View = "executions";

/** What showing `view` (or reconnecting while it shows) should reload. */
export function registerView(view: View, refresh: () => void): void {
  refreshers.set(view, refresh);
}

export function currentView(): View {
  return current;
}

export function showView(next: View): void {
  current = next;
  for (const tab of document.querySelectorAll<HTMLElement>(".tab")) {
    if (tab.dataset.view === next) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  for (const v of VIEWS) $(`#view-${v}`).hidden = v !== next;
  refreshView();
}

export function refreshView(): void {
  if (!isConnected()) return;
  refreshers.get(current)?.();
}

export function setupTabs(): void {
  for (const tab of document.querySelectorAll<HTMLElement>(".tab")) tab.addEventListener("click", () => showView(tab.dataset.view as View));
}
