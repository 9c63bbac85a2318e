import type { ExecutionInfo } from "../../../src/server/monitor-types.js";
import { call, connect, startConnection } from "./connection.js";
import { renderExecList, setupExecutionsView } from "./executions-view.js";
import { detectHistory, setupHistoryView } from "./history-view.js";
import { setupLoginForm } from "./login.js";
import { toast } from "./notices.js";
import { reattachStartedRuns } from "./run-starter.js";
import { setupRunsView } from "./runs-view.js";
import { setupServerView } from "./server-view.js";
import { replaceExecutions, upsertExecution } from "./state.js";
import { refreshView, setupTabs } from "./views.js";
import { dispatchWatched, rewatchAll } from "./watchers.js";

/** The dashboard's entry point: wires the views to the connection. */

async function onConnected(): Promise<void> {
  try {
    const { executions } = await call<{ executions: ExecutionInfo[] }>("monitor.list", { subscribe: true });
    replaceExecutions(executions);
    renderExecList();
    rewatchAll();
    void reattachStartedRuns();
  } catch (err) {
    toast(`cannot list executions: ${(err as Error).message}`);
  }
  detectHistory();
  refreshView();
}

function onNotification(method: string, params: Record<string, unknown>): void {
  if (method === "monitor.execution") upsertExecution(params.execution as ExecutionInfo);
  else dispatchWatched(method, params);
}

setupTabs();
setupLoginForm(() => void connect());
setupExecutionsView();
setupRunsView();
setupHistoryView();
setupServerView();
startConnection({ onNotification, onConnected });
