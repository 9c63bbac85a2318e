import type { ExecutionInfo } from "../../../src/server/monitor-types.js";

/**
 * The executions the server reports (monitor.list, then monitor.execution as they change), shared
 * by every view. Views that care subscribe to changes.
 */

/** Finished executions kept (and listed); older ones are forgotten. */
const KEEP_FINISHED = 200;

export const executions = new Map<string, ExecutionInfo>();

type Listener = (e: ExecutionInfo) => void;
const listeners: Listener[] = [];

export function onExecutionChange(listener: Listener): void {
  listeners.push(listener);
}

/** The whole list, as monitor.list gave it (after each connect). */
export function replaceExecutions(list: ExecutionInfo[]): void {
  executions.clear();
  for (const e of list) executions.set(e.id, e);
}

export function upsertExecution(e: ExecutionInfo): void {
  executions.set(e.id, e);
  for (const listener of listeners) listener(e);
}

/** The execution when it is running now. */
export function runningExecution(id: string): ExecutionInfo | undefined {
  const e = executions.get(id);
  return e && e.status === "running" ? e : undefined;
}

/** Running ones (newest start first) and finished ones (newest end first, at most KEEP_FINISHED: the rest is forgotten). */
export function executionsByState(): { running: ExecutionInfo[]; finished: ExecutionInfo[] } {
  const all = [...executions.values()];
  const running = all.filter((e) => e.status === "running").sort((a, b) => b.started_at.localeCompare(a.started_at));
  const finished = all.filter((e) => e.status !== "running").sort((a, b) => (b.ended_at ?? "").localeCompare(a.ended_at ?? ""));
  for (const old of finished.slice(KEEP_FINISHED)) executions.delete(old.id);
  return { running, finished: finished.slice(0, KEEP_FINISHED) };
}
