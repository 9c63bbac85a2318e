// No imports: the dashboard's browser bundle shares this type.
/** A run's budget as reported (events, summary, `tasks show`): limits, spent, left. */
export interface BudgetStatus {
  max_cost_usd?: number;
  max_tokens?: number;
  spent_cost_usd: number;
  spent_tokens: number;
  remaining_cost_usd?: number;
  remaining_tokens?: number;
  /** Spent reached a limit: no new task starts. */
  exhausted: boolean;
}
