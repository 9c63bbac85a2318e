import type { ExecutionInfo } from "../../../src/server/monitor-types.js";
import { call } from "./connection.js";
import { confirmButton, h } from "./dom.js";
import { toast } from "./notices.js";
import { authHeaders } from "./token.js";

/** What the page can do to an execution: pause, resume, cancel (any session's), download its output. */

type ControlType = "PAUSE" | "RESUME" | "CANCEL";

async function control(id: string, type: ControlType): Promise<void> {
  try {
    await call("monitor.control", { execution_id: id, type });
  } catch (err) {
    toast(`${type.toLowerCase()} failed: ${(err as Error).message}`);
  }
}

/** Pause or Resume, and Cancel (asking once more) while it runs; an empty box once it is over. */
export function actionButtons(info: ExecutionInfo): HTMLElement {
  const box = h("div", { className: "actions" });
  if (info.status !== "running") return box;
  if (info.paused) box.append(h("button", { type: "button", className: "resume", onclick: () => void control(info.id, "RESUME") }, "Resume"));
  else box.append(h("button", { type: "button", className: "pause", onclick: () => void control(info.id, "PAUSE") }, "Pause"));
  box.append(confirmButton("Cancel", "Really cancel?", () => void control(info.id, "CANCEL")));
  return box;
}

/** Saves the full output (run folder or the server's kept tail) as `<id>.log`. */
export async function downloadOutput(id: string): Promise<void> {
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
