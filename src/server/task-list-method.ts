import { Notifications, parseParams, RpcError, ErrorCodes, RunTaskListParams } from "../protocol/index.js";
import { budgetFromLimits, checkPreTaskList, loadRunState, newRunId, resumeTaskList, startTaskList, taskListFromRequest, TaskListError, TaskListRefusedError, RunNotFoundError, RunNotResumableError } from "../tasks/index.js";
import { claudeBinRefusal, refusalReason } from "../doors/policy.js";
import type { OutputFlow } from "../process/index.js";
import type { TaskList, TaskListEvent, TaskListOptions, TaskListRun } from "../tasks/index.js";
import { taskListServices } from "../doors/index.js";
import { claudeEventsToSink } from "./claude-method.js";
import { hookWarningParams, takeSlot, type ServerContext } from "./context.js";
import { monitorSink } from "./monitor.js";
import { openChannel, runDirOf, trackResumable } from "./resumable.js";
import type { ActiveWork, MethodHandler } from "./session.js";
import { interceptSink, type NotificationSink } from "./sink.js";
import { streamProcessEvents } from "./stream-process.js";

/** A sink that adds fields (run_id, task_id) to every notification it passes on. */
function withFields(sink: NotificationSink, fields: Record<string, unknown>): NotificationSink {
  return interceptSink(sink, (method, params) => sink.notify(method, { ...(params as object), ...fields }));
}

/** Task-list events as notifications; each task's process.* and claude.* notifications go out inside them. */
export function taskListEventsToSink(sink: NotificationSink, runId: string): (ev: TaskListEvent) => void {
  const runSink = withFields(sink, { run_id: runId });
  const perExecution = new Map<string, { claude: ReturnType<typeof claudeEventsToSink>; process: ReturnType<typeof streamProcessEvents> }>();
  const translators = (executionId: string, taskId: string) => {
    let t = perExecution.get(executionId);
    if (!t) {
      const taskSink = withFields(runSink, { task_id: taskId });
      t = { claude: claudeEventsToSink(taskSink, executionId), process: streamProcessEvents(taskSink, executionId) };
      perExecution.set(executionId, t);
    }
    return t;
  };
  return (ev) => {
    switch (ev.type) {
      case "tasklist.started": {
        const { type: _t, ...rest } = ev;
        runSink.notify(Notifications.taskListStarted, rest);
        break;
      }
      case "task.started":
        runSink.notify(Notifications.taskStarted, {
          task_id: ev.task_id,
          index: ev.index,
          title: ev.title,
          method: ev.method,
          attempt: ev.attempt,
          execution_id: ev.execution_id,
          timeout_s: ev.timeout.timeout_s,
          timeout_basis: ev.timeout.basis,
          ...(ev.worktree ? { worktree: ev.worktree } : {}),
          ...(ev.budget ? { budget: ev.budget } : {}),
          ...(ev.resume_session ? { resume_session: ev.resume_session } : {}),
        });
        break;
      case "task.activity": {
        const t = translators(ev.execution_id, ev.task_id);
        const a = ev.activity;
        if (a.type === "claude") t.claude(a.event);
        else if (a.type === "process.started") t.process.started({ pid: a.pid, pgid: a.pgid, command: a.command, timeout: a.timeout, startedAt: a.startedAt });
        else if (a.type === "process.output") t.process.output(a.chunk);
        else if (a.type === "hook.warning") runSink.notify(Notifications.hookWarning, hookWarningParams(a.warning, { task_id: ev.task_id, execution_id: ev.execution_id }));
        else {
          t.process.completed(a.result);
          perExecution.delete(ev.execution_id);
        }
        break;
      }
      case "task.completed":
        runSink.notify(Notifications.taskCompleted, { task_id: ev.outcome.id, index: ev.outcome.index, title: ev.outcome.title, status: ev.outcome.status, outcome: ev.outcome });
        break;
      case "task.failed":
        runSink.notify(Notifications.taskFailed, { task_id: ev.outcome.id, index: ev.outcome.index, title: ev.outcome.title, status: ev.outcome.status, will_retry: ev.will_retry, policy: ev.policy, outcome: ev.outcome });
        break;
      case "task.skipped": {
        const { type: _t, ...rest } = ev;
        runSink.notify(Notifications.taskSkipped, rest);
        break;
      }
      case "task.merge":
        runSink.notify(Notifications.taskMerge, { task_id: ev.merge.task_id, index: ev.merge.index, title: ev.merge.title, status: ev.merge.status, stops: ev.stops, merge: ev.merge });
        break;
      case "tasklist.budget":
        runSink.notify(Notifications.taskListBudget, { task_id: ev.task_id, budget: ev.budget });
        break;
      case "tasklist.completed":
        runSink.notify(Notifications.taskListCompleted, { status: ev.summary.status, summary: ev.summary });
        break;
    }
  };
}

/** `run_task_list`: runs or resumes a task list in this session, streaming task.* notifications. */
export function runTaskListMethod(ctx: ServerContext, extraOptions: () => Partial<TaskListOptions> = () => ({})): MethodHandler {
  return async (raw, session) => {
    const p = parseParams(RunTaskListParams, raw);
    const detach = p.detach ?? false;
    // A detached run is the server's, not this session's: the session stays free for other work.
    if (!detach) session.assertIdle();
    const runId = p.resume_run_id ?? newRunId();
    const resumable = detach || (p.resumable ?? true);
    // Events start on the next tick: the run is built (and validated) before its sink exists.
    let emit: (ev: TaskListEvent) => void = () => {};
    let sink: NotificationSink | undefined;
    const flow: OutputFlow = {
      get isCongested() {
        return sink?.isCongested ?? false;
      },
      on: (event, listener) => sink?.on(event, listener),
      off: (event, listener) => sink?.off(event, listener),
    };
    const options: TaskListOptions = {
      home: ctx.config.home,
      runId,
      cwd: p.cwd ?? undefined,
      env: p.env ?? undefined,
      report: p.report ?? undefined,
      contextChars: p.context_chars ?? undefined,
      // Hooks, history, estimates, the command policy: as the MCP tool run_task_list has them.
      ...taskListServices(ctx.config, { hooks: ctx.hooks, history: ctx.history, refuseCommand: (command) => refusalReason(ctx.policy, command), registry: ctx.registry, slots: ctx.slots, local: { flow } }),
      logger: session.logger,
      onEvent: (ev) => emit(ev),
      ...extraOptions(),
    };
    if (p.concurrency != null) options.concurrency = p.concurrency;
    if (p.isolation != null) options.isolation = p.isolation;
    const budget = budgetFromLimits(p.max_cost, p.max_tokens);
    if (budget) options.budget = budget;
    if (p.resume_sessions === false) options.resumeSessions = false;
    const invalid = (err: unknown) =>
      err instanceof TaskListError || err instanceof RunNotFoundError || err instanceof RunNotResumableError ? new RpcError(ErrorCodes.invalidParams, `Invalid params: ${err.message}`) : err;
    const binRefused = claudeBinRefusal(ctx.policy, p.env);
    if (binRefused) throw new RpcError(ErrorCodes.commandNotAllowed, `Command not allowed: ${binRefused}`);
    let list: TaskList;
    try {
      list = p.resume_run_id ? loadRunState(ctx.config.home, p.resume_run_id).list : taskListFromRequest(p);
      await checkPreTaskList(ctx.hooks, list, { cwd: p.cwd ?? undefined, run_id: runId });
    } catch (err) {
      if (err instanceof TaskListRefusedError) throw new RpcError(ErrorCodes.commandNotAllowed, `Task list not allowed: ${err.message}`);
      throw invalid(err);
    }
    // The list itself holds no slot: each of its tasks takes one while it runs (waiting for one
    // when all are taken). A list that would only wait is refused, as a command would be.
    if (ctx.slots.full) takeSlot(ctx.slots);
    let run: TaskListRun;
    try {
      run = p.resume_run_id ? resumeTaskList(p.resume_run_id, options) : startTaskList(list, options);
    } catch (err) {
      throw invalid(err);
    }
    const channel = resumable ? openChannel(ctx, session, runId, () => void run.cancel(), detach ? "server" : "session") : undefined;
    sink = channel ?? session;
    emit = taskListEventsToSink(monitorSink(ctx, session, sink, { executionId: runId, kind: "task-list", label: run.list.name }), runId);
    const started = run;
    const work: ActiveWork = {
      executionId: runId,
      kind: "task-list",
      pause: () => started.pause(),
      resume: () => started.resume(),
      cancel: () => started.cancel(),
      finished: started.finished,
      channel,
    };
    if (!detach) session.claim(work);
    if (channel) trackResumable(ctx, work, channel);
    session.logger.info({ runId, tasks: started.list.tasks.length, resumed: Boolean(p.resume_run_id), detach }, "task list started");
    void started.finished.then(
      (summary) => session.logger.info({ runId, status: summary.status, completed: summary.completed, failed: summary.failed, total: summary.total, durationMs: summary.duration_ms }, "task list ended"),
      () => undefined,
    );
    const detached = detach ? { detached: true, run_dir: runDirOf(ctx, runId) } : {};
    return { status: "started", run_id: runId, execution_id: runId, name: started.list.name, total: started.list.tasks.length, resumable, ...detached, state_path: started.statePath };
  };
}
