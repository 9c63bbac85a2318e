import type { BudgetStatus } from "./budget-status.js";
import { tokensOf, type Budget, type TaskOutcome, type TaskSpec } from "./model.js";

export type { BudgetStatus };

/** What a run has spent, in all and per task (over all its attempts); kept in the checkpoint. */
export interface Spent {
  cost_usd: number;
  tokens: number;
  tasks: Record<string, { cost_usd: number; tokens: number }>;
}

/** The limits one task attempt runs with. */
export interface TaskCap {
  maxCostUsd?: number;
  maxTokens?: number;
}

export const emptySpent = (): Spent => ({ cost_usd: 0, tokens: 0, tasks: {} });

/** The budget a request gives with max_cost (US dollars) and max_tokens; undefined when it gives neither. */
export function budgetFromLimits(maxCostUsd: number | null | undefined, maxTokens: number | null | undefined): Budget | undefined {
  if (maxCostUsd == null && maxTokens == null) return undefined;
  return { ...(maxCostUsd != null ? { maxCostUsd } : {}), ...(maxTokens != null ? { maxTokens } : {}) };
}

const round6 = (n: number) => Math.round(n * 1e6) / 1e6;

/** Adds one task run's spending to a run's record (the meter, and a checkpoint read back from its journal). */
export function addSpend(spent: Spent, taskId: string, spend: { cost_usd: number; tokens: number }): void {
  const task = (spent.tasks[taskId] ??= { cost_usd: 0, tokens: 0 });
  task.cost_usd = round6(task.cost_usd + spend.cost_usd);
  task.tokens += spend.tokens;
  spent.cost_usd = round6(spent.cost_usd + spend.cost_usd);
  spent.tokens += spend.tokens;
}

/**
 * The budget of a run: the list's limits (cost in US dollars as the CLI reports it, tokens as
 * input + output + cache reads and writes) against what its tasks spent. Costs are known when a
 * task ends, so a task that is running can take the list past its limit; the list then starts no
 * new task. Each claude task is given what is left (`--max-budget-usd`), which bounds the overshoot.
 */
export class BudgetMeter {
  constructor(
    private readonly limit: Budget | undefined,
    private readonly spent: Spent,
  ) {}

  get limits(): Budget | undefined {
    return this.limit;
  }

  /** Adds what one run of a task (or a merge resolver working for it) spent; returns it, or undefined when it spent nothing. */
  add(taskId: string, outcome: Pick<TaskOutcome, "cost_usd" | "input_tokens" | "output_tokens" | "cache_read_input_tokens" | "cache_creation_input_tokens">): { cost_usd: number; tokens: number } | undefined {
    const spend = { cost_usd: outcome.cost_usd ?? 0, tokens: tokensOf(outcome) };
    if (spend.cost_usd === 0 && spend.tokens === 0) return undefined;
    addSpend(this.spent, taskId, spend);
    return spend;
  }

  status(): BudgetStatus {
    const l = this.limit ?? {};
    const s: BudgetStatus = { spent_cost_usd: this.spent.cost_usd, spent_tokens: this.spent.tokens, exhausted: this.exhausted() };
    if (l.maxCostUsd !== undefined) {
      s.max_cost_usd = l.maxCostUsd;
      s.remaining_cost_usd = round6(Math.max(0, l.maxCostUsd - this.spent.cost_usd));
    }
    if (l.maxTokens !== undefined) {
      s.max_tokens = l.maxTokens;
      s.remaining_tokens = Math.max(0, l.maxTokens - this.spent.tokens);
    }
    return s;
  }

  exhausted(): boolean {
    const l = this.limit;
    if (!l) return false;
    return (l.maxCostUsd !== undefined && this.spent.cost_usd >= l.maxCostUsd) || (l.maxTokens !== undefined && this.spent.tokens >= l.maxTokens);
  }

  /** Why `task` may not start again because its own budget is spent, or undefined. */
  taskSpent(task: Pick<TaskSpec, "id" | "maxCostUsd" | "maxTokens">): string | undefined {
    const own = this.spent.tasks[task.id] ?? { cost_usd: 0, tokens: 0 };
    if (task.maxCostUsd !== undefined && own.cost_usd >= task.maxCostUsd) return `the task's budget of $${task.maxCostUsd} is spent ($${own.cost_usd})`;
    if (task.maxTokens !== undefined && own.tokens >= task.maxTokens) return `the task's budget of ${task.maxTokens} tokens is spent (${own.tokens})`;
    return undefined;
  }

  /** The limits of the next attempt of `task`: the least of its own remaining budget and the list's. */
  capFor(task: Pick<TaskSpec, "id" | "maxCostUsd" | "maxTokens">): TaskCap {
    const own = this.spent.tasks[task.id] ?? { cost_usd: 0, tokens: 0 };
    const list = this.status();
    const ownCost = task.maxCostUsd !== undefined ? round6(task.maxCostUsd - own.cost_usd) : undefined;
    const ownTokens = task.maxTokens !== undefined ? task.maxTokens - own.tokens : undefined;
    const least = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));
    const cap: TaskCap = {};
    const cost = least(ownCost, list.remaining_cost_usd);
    const tokens = least(ownTokens, list.remaining_tokens);
    if (cost !== undefined) cap.maxCostUsd = cost;
    if (tokens !== undefined) cap.maxTokens = tokens;
    return cap;
  }
}

/** "$0.42 of $1.00 spent, $0.58 left · 120000 of 500000 tokens" (or just what was spent, without limits). */
export function describeBudget(b: BudgetStatus): string {
  const parts: string[] = [];
  const usd = (n: number) => `$${n.toFixed(n < 1 ? 4 : 2)}`;
  if (b.max_cost_usd !== undefined) parts.push(`${usd(b.spent_cost_usd)} of ${usd(b.max_cost_usd)} spent, ${usd(b.remaining_cost_usd ?? 0)} left`);
  else parts.push(`${usd(b.spent_cost_usd)} spent`);
  if (b.max_tokens !== undefined) parts.push(`${b.spent_tokens} of ${b.max_tokens} tokens, ${b.remaining_tokens ?? 0} left`);
  else parts.push(`${b.spent_tokens} tokens`);
  return parts.join(" · ");
}
