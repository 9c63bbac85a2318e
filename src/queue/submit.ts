import { resolveTaskList, resumeTaskList, TaskListRun, type TaskListOptions, type TaskListSource, type TaskListSummary } from "../tasks/index.js";
import { QueueExecutor, type QueueExecutorOptions } from "./executor.js";
import { checkRedis } from "./status.js";

export interface SubmitOptions extends Omit<TaskListOptions, "executor" | "local">, QueueExecutorOptions {}

/** A task list running in this process, its tasks on the queue's workers. */
export interface SubmittedTaskList {
  readonly runId: string;
  readonly statePath: string;
  /** The runner: order, parallel groups, context, checkpoints and reports, as in local mode. */
  readonly run: TaskListRun;
  readonly executor: QueueExecutor;
  /** The run's summary, once every task has ended and the Redis connections are closed. */
  finished(): Promise<TaskListSummary>;
  /** Cancels the queued and running tasks (their workers kill the process groups); resume continues. */
  cancel(): Promise<TaskListSummary>;
  pause(): boolean;
  resume(): boolean;
}

function wrap(run: TaskListRun, executor: QueueExecutor): SubmittedTaskList {
  const done = run.finished.finally(() => executor.close());
  done.catch(() => undefined);
  return {
    runId: run.runId,
    statePath: run.statePath,
    run,
    executor,
    finished: () => done,
    cancel: () => run.cancel().then(() => done),
    pause: () => run.pause(),
    resume: () => run.resume(),
  };
}

function withExecutor(options: SubmitOptions, build: (executor: QueueExecutor, taskOptions: TaskListOptions) => TaskListRun): SubmittedTaskList {
  const { redisUrl, queueName, prefix, keepJobsS, doneGraceMs, checkIntervalMs, secret, ...taskOptions } = options;
  const executor = new QueueExecutor({ redisUrl, queueName, prefix, keepJobsS, doneGraceMs, checkIntervalMs, secret, logger: options.logger });
  try {
    return wrap(build(executor, { ...taskOptions, executor }), executor);
  } catch (err) {
    void executor.close();
    throw err;
  }
}

/**
 * Runs a task list with its tasks on the queue's workers: task N is queued only when task N-1 has
 * finished (a parallel group is queued at once, up to `concurrency`, and joined), each task given
 * the results of the earlier ones; checkpoints and reports are written here, as in local mode.
 * Rejects at once when the list is invalid (TaskListError) or Redis cannot be reached
 * (RedisUnreachableError).
 *
 * ```ts
 * const run = await submitTaskList(tasks, { redisUrl, onEvent });
 * const summary = await run.finished();
 * ```
 */
export async function submitTaskList(input: TaskListSource, options: SubmitOptions): Promise<SubmittedTaskList> {
  const list = resolveTaskList(input);
  await checkRedis(options.redisUrl);
  return withExecutor(options, (_executor, taskOptions) => new TaskListRun(list, taskOptions));
}

/** Continues a run (submitted with the queue or not) from its checkpoint, its tasks on the queue's workers. */
export async function resumeSubmittedTaskList(runId: string, options: SubmitOptions): Promise<SubmittedTaskList> {
  await checkRedis(options.redisUrl);
  return withExecutor(options, (_executor, taskOptions) => resumeTaskList(runId, taskOptions));
}
