import type { Params } from "./connection.js";
import { $ } from "./dom.js";

/** The "Start a task list" form of the Task runs view: file, working directory, environment, budget. */

/** `KEY=value` lines (blank lines and # comments skipped) as an environment; undefined when empty. */
export function parseEnv(text: string): Record<string, string> | undefined {
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

/** Sends the form's run_task_list params to `start`; its error shows next to the button. */
export function setupStartForm(start: (params: Params) => Promise<unknown>): void {
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
      start(params)
        .catch((err: Error) => (error.textContent = err.message))
        .finally(() => (button.disabled = false));
    } catch (err) {
      error.textContent = (err as Error).message;
    }
  });
}
