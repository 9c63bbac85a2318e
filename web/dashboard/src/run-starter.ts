import type { Params } from "./connection.js";
import { Rpc } from "./rpc.js";
import { executions } from "./state.js";
import { getToken } from "./token.js";

/**
 * Runs started from this page: each on a connection of its own, so the page's main session stays
 * free. Closing the tab detaches such a run; it keeps running for the server's resume grace period
 * (CC_EXECUTOR_RESUME_GRACE) and this tab re-attaches to it when reloaded.
 */

const RUNS_KEY = "cc-executor.started-runs";
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

/** Starts (or resumes, with `resume_run_id`) a task list on a connection of its own; resolves to its run id. */
export async function startRun(params: Params): Promise<string> {
  let runner: Rpc | undefined;
  try {
    runner = await Rpc.open(getToken());
    const res = await runner.call<{ run_id: string }>("run_task_list", params);
    keepRunner(res.run_id, runner);
    return res.run_id;
  } catch (err) {
    runner?.close();
    throw err;
  }
}

/** After a reload: attach again to the runs this tab started that still run (known from `executions`). */
export async function reattachStartedRuns(): Promise<void> {
  const ids = JSON.parse(sessionStorage.getItem(RUNS_KEY) ?? "[]") as string[];
  for (const id of ids) {
    if (runners.has(id)) continue;
    if (executions.get(id)?.status !== "running") {
      rememberRun(id, false);
      continue;
    }
    try {
      const runner = await Rpc.open(getToken());
      // since_seq far ahead: nothing is replayed on this connection (the page watches instead).
      await runner.call("attach", { execution_id: id, since_seq: 2 ** 31 });
      keepRunner(id, runner);
    } catch {
      // attached elsewhere, or over: leave it
    }
  }
}
