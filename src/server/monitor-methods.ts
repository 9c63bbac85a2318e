import * as z from "zod";
import { ControlType, ErrorCodes, parseParams, RpcError } from "../protocol/index.js";
import type { Store } from "../store/index.js";
import { checkpointPath, isRunId, listRunStates, loadRunState, RunNotFoundError, summarize } from "../tasks/index.js";
import type { TaskListSummary } from "../tasks/index.js";
import { VERSION } from "../version.js";
import type { ServerContext } from "./context.js";
import { monitorFor } from "./monitor.js";
import { Reply, type MethodHandler } from "./session.js";

/** The dashboard's methods (any client may use them): monitor.*, task_runs.*, health, history.list. */

const ExecutionIdParams = z.object({ execution_id: z.string().min(1).max(200) });
const ListParams = z.object({ subscribe: z.boolean().nullish() });
const MonitorControlParams = z.object({ execution_id: z.string().min(1).max(200), type: ControlType });
const TaskRunsListParams = z.object({ limit: z.number().int().min(1).max(1000).nullish() });
const TaskRunGetParams = z.object({ run_id: z.string().min(1).max(200) });
const HistoryListParams = z.object({
  limit: z.number().int().min(1).max(1000).nullish(),
  status: z.enum(["running", "completed", "failed", "timeout", "canceled"]).nullish(),
  kind: z.enum(["command", "claude", "task"]).nullish(),
  /** Only executions started before this time (epoch ms): the paging cursor. */
  before: z.number().nullish(),
  /** Case-insensitive text the label must contain. */
  q: z.string().max(500).nullish(),
});

/** A task-list run without its per-task rows (the list view). */
export type TaskRunInfo = Omit<TaskListSummary, "tasks"> & { live: boolean; resumable: boolean };

function runInfo(summary: TaskListSummary, live: boolean): TaskRunInfo {
  const { tasks: _tasks, ...rest } = summary;
  return { ...rest, live, resumable: !live && summary.resume_command !== undefined && summary.status !== "running" };
}

/** The history store, when the server has one (ctx.history.store, or ctx.store). */
function storeOf(ctx: ServerContext): Store | undefined {
  const loose = ctx as unknown as { store?: Store; history?: { store?: Store } };
  return loose.history?.store ?? loose.store;
}

/** monitor.*, task_runs.*, health and history.list: the dashboard's methods (usable by any client). */
export function monitorMethods(ctx: ServerContext): Array<[string, MethodHandler]> {
  const monitor = monitorFor(ctx);
  const home = ctx.config.home;
  const isLive = (id: string) => monitor.get(id)?.status === "running";
  return [
    [
      "monitor.list",
      (raw, session) => {
        const p = parseParams(ListParams, raw);
        if (p.subscribe === true) monitor.subscribe(session);
        else if (p.subscribe === false) monitor.unsubscribe(session);
        return { executions: monitor.list(), subscribed: p.subscribe === true };
      },
    ],
    [
      "monitor.watch",
      (raw, session) => {
        const { execution_id } = parseParams(ExecutionIdParams, raw);
        const w = monitor.watch(session, execution_id);
        return new Reply({ status: "watching", execution: w.info }, w.replay);
      },
    ],
    [
      "monitor.unwatch",
      (raw, session) => {
        const { execution_id } = parseParams(ExecutionIdParams, raw);
        return { status: "unwatched", execution_id, was_watching: monitor.unwatch(session, execution_id) };
      },
    ],
    [
      "monitor.control",
      (raw) => {
        const p = parseParams(MonitorControlParams, raw);
        return monitor.control(p.execution_id, p.type);
      },
    ],
    [
      "task_runs.list",
      (raw) => {
        const p = parseParams(TaskRunsListParams, raw);
        const runs = listRunStates(home)
          .slice(0, p.limit ?? 100)
          .map((s) => runInfo(summarize(s, checkpointPath(home, s.run_id)), isLive(s.run_id)));
        return { runs };
      },
    ],
    [
      "task_runs.get",
      (raw) => {
        const { run_id } = parseParams(TaskRunGetParams, raw);
        if (!isRunId(run_id)) throw new RpcError(ErrorCodes.invalidParams, "Invalid params: run_id: must be a task-list run id (tl-...)");
        try {
          const state = loadRunState(home, run_id);
          const summary = summarize(state, checkpointPath(home, run_id));
          const live = isLive(run_id);
          return { run: summary, live, resumable: runInfo(summary, live).resumable };
        } catch (err) {
          if (err instanceof RunNotFoundError) throw new RpcError(ErrorCodes.invalidParams, `Invalid params: ${err.message}`);
          throw err;
        }
      },
    ],
    ["health", () => monitor.health?.() ?? { status: "healthy", service: "cc-executor", version: VERSION }],
    [
      "history.list",
      async (raw) => {
        const p = parseParams(HistoryListParams, raw);
        const store = storeOf(ctx);
        if (!store) throw new RpcError(ErrorCodes.methodNotFound, "Method not found: history.list (this server keeps no execution history: no store is configured)");
        const limit = p.limit ?? 100;
        const q = p.q?.trim().toLowerCase();
        const query = { limit: q ? 1000 : limit, status: p.status ?? undefined, kind: p.kind ?? undefined, before: p.before ?? undefined };
        let executions = await store.listExecutions(query);
        if (q) executions = executions.filter((e) => e.label.toLowerCase().includes(q) || e.id.includes(q)).slice(0, limit);
        return { executions };
      },
    ],
  ];
}
