import { continuesSession } from "../claude/index.js";
import { historyStatus } from "../store/index.js";
import { describeBudget } from "./budget.js";
import type { RunningTask } from "./checkpoint.js";
import { composePrompt } from "./context.js";
import type { SessionResume, TimeoutChoice } from "./events.js";
import { baseOutcome, newExecutionId, refusedOutcome, type TaskActivity, type TaskRequest } from "./executor.js";
import type { FailurePolicy, TaskList, TaskOutcome, TaskSpec } from "./model.js";
import type { RunContext, TaskListOptions } from "./run-context.js";

export const DEFAULT_TIMEOUTS = { claude: 1800, direct: 600 } as const;

export function policyOf(task: TaskSpec, list: TaskList, options: TaskListOptions): FailurePolicy {
  return task.onFailure ?? options.onFailure ?? list.onFailure;
}

/**
 * A task that needs no rerun on resume: it completed, or it failed under "continue" (unless the
 * list's budget stopped it: that task has not really failed, it runs again with more budget).
 */
export function settled(outcome: TaskOutcome | undefined, policy: FailurePolicy): boolean {
  if (!outcome) return false;
  if (outcome.status === "completed") return true;
  return policy.action === "continue" && outcome.status !== "canceled" && outcome.error_type !== "budget_exhausted";
}

/** Where a task runs: the run's directory, or (an isolated task of a parallel group) a worktree of its own. */
export interface Placement {
  cwd: string;
  worktree?: { path: string; branch: string };
}

/** How a task ended for the list: its last outcome (none when the budget kept it from starting), and whether the list's budget ran out. */
export interface TaskRun {
  outcome?: TaskOutcome;
  budgetStop: boolean;
}

/** Whether a claude task's attempts may continue their sessions: unless the run or the task says no. */
function sessionsOn(ctx: RunContext, task: TaskSpec): boolean {
  return task.method === "claude" && task.resumeSession !== false && ctx.state.options.resume_sessions !== false;
}

/**
 * The session the next attempt of a claude task continues (with a "continue and finish" prompt)
 * rather than starting over: the previous attempt's, when it ended in a failure worth continuing
 * after real work, or when the run stopped while it ran (a crash, kill -9). The claude runner
 * starts afresh, and says so, when the CLI cannot continue it.
 */
function sessionToResume(ctx: RunContext, task: TaskSpec, previous: TaskOutcome | RunningTask | undefined): SessionResume | undefined {
  if (!sessionsOn(ctx, task)) return undefined;
  const sessionId = previous?.session_id;
  if (!previous || !sessionId) return undefined;
  if (previous.status === "running") return { session_id: sessionId, reason: "the run stopped while this task was running" };
  if (previous.status === "completed" || !continuesSession(previous.error_type)) return undefined;
  return { session_id: sessionId, reason: `${previous.error_type}${previous.message ? `: ${previous.message}` : ""}` };
}

function isolationNote(worktree: { path: string; branch: string }): string {
  return (
    "\n\n## Where you work\n" +
    `You work in a git worktree of your own (branch \`${worktree.branch}\`); other tasks of this list work at the same time in theirs. ` +
    "Make your changes here only and do not switch branches or merge: when you finish, your changes are committed to this branch and merged into the main tree."
  );
}

async function chooseTimeout(ctx: RunContext, task: TaskSpec): Promise<TimeoutChoice> {
  const given = task.timeout ?? ctx.list.defaults.timeout;
  if (given !== undefined) return { timeout_s: given, basis: "given" };
  const o = ctx.options;
  const estimate = o.estimateTimeout
    ? await o.estimateTimeout(task).catch(() => undefined)
    : await o.history?.estimate(task.prompt ?? task.command ?? "", task.method === "claude" ? "claude" : "command").catch(() => undefined);
  if (estimate) return { timeout_s: estimate.timeout_s, basis: estimate.basis, samples: estimate.samples };
  return { timeout_s: o.defaultTimeouts?.[task.method] ?? DEFAULT_TIMEOUTS[task.method], basis: "default" };
}

/** A task with the list's defaults filled in. */
export function withDefaults(spec: TaskSpec, list: TaskList): TaskSpec {
  const d = list.defaults;
  return {
    ...spec,
    tools: spec.tools ?? d.tools,
    model: spec.model ?? d.model,
    json: spec.json ?? d.json,
    maxCostUsd: spec.maxCostUsd ?? d.maxCostUsd,
    maxTokens: spec.maxTokens ?? d.maxTokens,
    resumeSession: spec.resumeSession ?? d.resumeSession,
  };
}

/**
 * One task with its failure policy (`retry N` reruns it up to N more times) and its budget: an
 * attempt starts only while the list's budget lasts and gets what is left of it (and of the
 * task's own); a claude attempt after a failure continues the previous attempt's session.
 */
export async function runTask(ctx: RunContext, spec: TaskSpec, earlier: TaskOutcome[], placement: Placement): Promise<TaskRun> {
  const task = withDefaults(spec, ctx.list);
  const policy = policyOf(spec, ctx.list, ctx.options);
  const runs = policy.action === "retry" ? policy.times + 1 : 1;
  let outcome: TaskOutcome | undefined;
  for (let attempt = 1; attempt <= runs; attempt++) {
    if (ctx.budget.exhausted()) return { outcome, budgetStop: true };
    const request = await buildRequest(ctx, task, earlier, placement, attempt);
    const ownSpent = ctx.budget.taskSpent(task);
    if (ownSpent) {
      outcome = { ...baseOutcome(request, Date.now()), status: "failed", result: "", summary: `not run: ${ownSpent}`, error_type: "budget_exceeded", message: ownSpent };
      ctx.setTask(outcome);
      ctx.emit({ type: "task.failed", run_id: ctx.runId, outcome, will_retry: false, policy });
      break;
    }
    outcome = await runAttempt(ctx, task, request, placement, { record: true, resume: sessionToResume(ctx, task, ctx.state.tasks[task.id]) });
    if (outcome.error_type === "budget_exceeded" && ctx.budget.exhausted()) {
      // The list's budget, not the task's own, is what ran out: the list stops and this task runs again on resume.
      outcome = { ...outcome, error_type: "budget_exhausted", message: `the list's budget is spent (${describeBudget(ctx.budget.status())})${outcome.message ? `; ${outcome.message}` : ""}` };
      ctx.setTask(outcome);
      reportEnd(ctx, outcome, { will_retry: false, policy });
      return { outcome, budgetStop: true };
    }
    if (outcome.status === "completed") {
      reportEnd(ctx, outcome);
      return { outcome, budgetStop: false };
    }
    const ownSpentNow = attempt < runs ? ctx.budget.taskSpent(task) : undefined;
    if (ownSpentNow) {
      // The policy would retry, but the task's budget is gone: it fails as it is, saying why it is not retried.
      outcome = { ...outcome, message: `${outcome.message ?? outcome.status}; not retried: ${ownSpentNow}` };
      ctx.setTask(outcome);
    }
    const willRetry = attempt < runs && !ctx.canceled && !ctx.budget.exhausted() && !ownSpentNow;
    reportEnd(ctx, outcome, { will_retry: willRetry, policy });
    if (!willRetry) break;
  }
  return { outcome, budgetStop: ctx.budget.exhausted() && outcome?.status !== "completed" };
}

async function buildRequest(ctx: RunContext, task: TaskSpec, earlier: TaskOutcome[], placement: Placement, attempt: number): Promise<TaskRequest> {
  const timeout = await chooseTimeout(ctx, task);
  const request: TaskRequest = {
    runId: ctx.runId,
    task,
    timeoutS: timeout.timeout_s,
    cwd: placement.cwd,
    env: {
      ...ctx.options.env,
      CC_EXECUTOR_RUN_ID: ctx.runId,
      CC_EXECUTOR_TASK_ID: task.id,
      CC_EXECUTOR_TASK_INDEX: String(task.index),
      CC_EXECUTOR_STATE_FILE: ctx.journalPath,
    },
    attempt,
    executionId: newExecutionId(),
    timeout,
  };
  if (task.method === "claude") {
    request.prompt = composePrompt(task, ctx.list.tasks.length, earlier, { maxChars: ctx.state.options.context_chars, resultsPath: ctx.journalPath, listName: ctx.list.name });
    if (placement.worktree) request.prompt += isolationNote(placement.worktree);
    const cap = ctx.budget.capFor(task);
    if (cap.maxCostUsd !== undefined || cap.maxTokens !== undefined) request.budget = cap;
    if (!sessionsOn(ctx, task)) request.continueSessions = false;
  } else request.command = task.command;
  return request;
}

/**
 * One run of one task (or of a merge resolver, `record: false`): the checkpoint entry while it
 * runs, pre-task hooks, the executor, post-task hooks, the history record, and what it spent.
 * Emits task.started and task.activity; the caller reports how it ended.
 */
export async function runAttempt(
  ctx: RunContext,
  task: TaskSpec,
  request: TaskRequest,
  placement: Placement,
  how: { record: boolean; resume?: SessionResume; budgetKey?: string },
): Promise<TaskOutcome> {
  const { runId, options } = ctx;
  const executionId = request.executionId;
  if (how.resume) request.resumeSession = { sessionId: how.resume.session_id, reason: how.resume.reason };
  const running: RunningTask = { id: task.id, status: "running", started_at: new Date().toISOString(), attempts: request.attempt, execution_id: executionId };
  if (placement.worktree) running.cwd = placement.cwd;
  if (how.record) ctx.setTask(running);
  ctx.emit({
    type: "task.started",
    run_id: runId,
    task_id: task.id,
    index: task.index,
    title: task.title,
    method: task.method,
    attempt: request.attempt,
    execution_id: executionId,
    timeout: request.timeout ?? { timeout_s: request.timeoutS, basis: "given" },
    ...(placement.worktree ? { worktree: placement.worktree } : {}),
    ...(request.budget ? { budget: { max_cost_usd: request.budget.maxCostUsd, max_tokens: request.budget.maxTokens } } : {}),
    ...(how.resume ? { resume_session: how.resume } : {}),
  });
  const activity = (a: TaskActivity) => {
    // The session id, as soon as the CLI names it: a run that dies now can still continue this session.
    if (how.record && a.type === "claude" && a.event.type === "stream" && a.event.event.kind === "init" && ctx.state.tasks[task.id] === running) {
      running.session_id = a.event.event.sessionId;
      ctx.setTask(running);
    }
    ctx.emit({ type: "task.activity", run_id: runId, task_id: task.id, index: task.index, execution_id: executionId, activity: a });
  };
  const hookContext = { execution_id: executionId, task, cwd: request.cwd, task_list: { run_id: runId, name: ctx.list.name } };
  const startedAt = Date.now();
  const pre = await ctx.hooks.run("pre-task", { ...hookContext, prompt: request.prompt, command: request.command, env: request.env });
  for (const warning of pre.warningDetails) activity({ type: "hook.warning", warning });
  const text = task.prompt ?? task.command ?? "";
  const timeoutBasis = request.timeout?.basis;
  options.history?.started({ id: executionId, kind: "task", text, estimatorKind: task.method === "claude" ? "claude" : "command", timeoutS: request.timeoutS, timeoutBasis: timeoutBasis === undefined || timeoutBasis === "given" ? "explicit" : timeoutBasis, taskListRunId: runId });
  let outcome: TaskOutcome;
  if (!pre.proceed) {
    outcome = refusedOutcome(request, startedAt, pre.message ?? "refused by a pre-task hook");
  } else {
    if (pre.prompt !== undefined && task.method === "claude") request.prompt = pre.prompt;
    if (pre.command !== undefined && task.method === "direct") request.command = pre.command;
    if (pre.env) request.env = { ...request.env, ...pre.env };
    const exec = ctx.executor.start(request, activity);
    ctx.running.set(task.id, exec);
    if (ctx.canceled) exec.cancel();
    outcome = await exec.outcome;
    ctx.running.delete(task.id);
  }
  if (ctx.canceled && outcome.status !== "completed") outcome = { ...outcome, status: "canceled", error_type: "canceled", message: "the run was canceled" };
  const post = await ctx.hooks.run("post-task", { ...hookContext, prompt: request.prompt, command: request.command, result: outcome });
  for (const warning of post.warningDetails) activity({ type: "hook.warning", warning });
  if (post.rejected && outcome.status === "completed") outcome = { ...outcome, status: "failed", error_type: "hook_rejected", message: `${post.rejected.hook}: ${post.rejected.message}` };
  if (placement.worktree) outcome = { ...outcome, worktree: placement.worktree.path, branch: placement.worktree.branch };
  options.history?.ended(executionId, {
    status: historyStatus(outcome.status),
    duration_ms: outcome.duration_ms,
    exit_code: outcome.exit_code ?? undefined,
    error_type: outcome.error_type,
    input_tokens: outcome.input_tokens,
    output_tokens: outcome.output_tokens,
    cost_usd: outcome.cost_usd,
    uuid_verified: outcome.uuid_verified,
    artifacts: outcome.transcript_path ? { transcript: outcome.transcript_path } : undefined,
  });
  ctx.spend(how.budgetKey ?? task.id, outcome);
  if (how.record) ctx.setTask(outcome);
  return outcome;
}

/** How a task run ended (task.completed / task.failed), then the budget when it spent something. */
export function reportEnd(ctx: RunContext, outcome: TaskOutcome, failed?: { will_retry: boolean; policy: FailurePolicy }): void {
  ctx.emit(failed ? { type: "task.failed", run_id: ctx.runId, outcome, ...failed } : { type: "task.completed", run_id: ctx.runId, outcome });
  if (outcome.cost_usd || outcome.input_tokens || outcome.output_tokens) ctx.emit({ type: "tasklist.budget", run_id: ctx.runId, task_id: outcome.id, budget: ctx.budget.status() });
}
