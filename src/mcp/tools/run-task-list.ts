import { taskListServices } from "../../doors/index.js";
import {
  budgetFromLimits,
  checkPreTaskList,
  loadRunState,
  newRunId,
  resumeTaskList,
  RunNotFoundError,
  RunNotResumableError,
  startTaskList,
  taskListFromRequest,
  TaskListError,
  TaskListRefusedError,
  type RunState,
  type TaskList,
  type TaskListEvent,
  type TaskListOptions,
  type TaskListRun,
} from "../../tasks/index.js";
import { HEARTBEAT_MS } from "../progress.js";
import { TaskListProgress } from "../task-list-progress.js";
import type { ToolDefinition } from "../tool-calls.js";
import type { ToolContext } from "../tool-context.js";
import { errorResult, jsonResult } from "../tool-results.js";
import { RunTaskListArgs } from "../tool-schemas.js";

/** run_task_list: a task list run (or resumed) in this process, as the WebSocket server's run_task_list runs it. */
export function runTaskListTool(ctx: ToolContext): ToolDefinition<typeof RunTaskListArgs> {
  const { config, logger } = ctx;
  return {
    name: "run_task_list",
    title: "Run a task list in strict order",
    description:
      "Runs a task list and blocks until it has finished: tasks in strict order (a parallel_group runs together), one fresh process per task, " +
      "each claude task given the results of the earlier ones, a checkpoint after every task. " +
      "Give exactly one of: `file` (a .md/.yaml/.json task list), `tasks` (inline: prompts as strings, or {prompt} / {command} objects), `text` (+ optional `format`), or `resume_run_id` (continue a stopped run). " +
      "In a git repository, a parallel group's claude tasks work in worktrees of their own and are merged back in task order; a merge conflict keeps the branch and fails as a step of its own. " +
      "max_cost / max_tokens set a budget: once spent, the run stops as budget_exhausted and can be resumed with a larger one. " +
      "Returns the run summary JSON (status, completed/failed/skipped counts, every task's outcome, merges, budget, report paths, resume_command). " +
      "Progress notifications: progress = tasks finished, total = tasks. isError is set unless every task completed.",
    inputSchema: RunTaskListArgs,
    annotations: { destructiveHint: true, openWorldHint: true },
    slots: "tasks",
    async run(a, { progress, onCancel }) {
      const hooks = ctx.hooks.current();
      let list: TaskList;
      let resumed: RunState | undefined;
      try {
        if (a.resume_run_id) {
          resumed = loadRunState(config.home, a.resume_run_id);
          list = resumed.list;
        } else list = taskListFromRequest({ ...a, source: "inline" }, ctx.directory(a.cwd));
      } catch (err) {
        if (err instanceof TaskListError) return errorResult(`Invalid task list: ${err.message}`);
        if (err instanceof RunNotFoundError) return errorResult(err.message);
        throw err;
      }
      const cwd = resumed ? resumed.cwd : ctx.directory(a.cwd);
      const runId = a.resume_run_id ?? newRunId();
      try {
        await checkPreTaskList(hooks, list, { cwd, run_id: runId });
      } catch (err) {
        if (err instanceof TaskListRefusedError) return errorResult(`Task list not allowed: ${err.message}`);
        throw err;
      }
      const listProgress = new TaskListProgress(progress, list);
      const onEvent = (ev: TaskListEvent) => {
        if (ev.type === "task.activity" && ev.activity.type === "hook.warning") {
          const w = ev.activity.warning;
          logger.warn({ runId: ev.run_id, task: ev.task_id, hook: w.hook, event: w.event }, w.message);
        }
        listProgress.onEvent(ev);
      };
      const options: TaskListOptions = {
        home: config.home,
        runId,
        cwd,
        // Hooks, history, estimates, the command policy: as the WebSocket server's run_task_list has them.
        ...taskListServices(config, { hooks, history: await ctx.history.recorder(), refuseCommand: ctx.refuseCommand, registry: ctx.registry, slots: ctx.slots, logger }),
        logger,
        onEvent,
      };
      if (a.concurrency !== undefined) options.concurrency = a.concurrency;
      if (a.isolation) options.isolation = a.isolation;
      const budget = budgetFromLimits(a.max_cost, a.max_tokens);
      if (budget) options.budget = budget;
      if (a.resume_sessions === false) options.resumeSessions = false;
      let run: TaskListRun;
      try {
        run = a.resume_run_id ? resumeTaskList(a.resume_run_id, options) : startTaskList(list, options);
      } catch (err) {
        if (err instanceof TaskListError) return errorResult(`Invalid task list: ${err.message}`);
        if (err instanceof RunNotResumableError) return errorResult(`Cannot resume: ${err.message}`);
        throw err;
      }
      onCancel(() => void run.cancel());
      listProgress.heartbeat(HEARTBEAT_MS);
      logger.info({ runId: run.runId, tasks: list.tasks.length, cwd }, "mcp: run_task_list started");
      const summary = await run.finished.finally(() => progress.stop());
      logger.info({ runId: run.runId, status: summary.status }, "mcp: run_task_list finished");
      return jsonResult(summary, summary.status !== "completed");
    },
  };
}
