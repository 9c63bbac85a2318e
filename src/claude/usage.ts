import type { ResultMessage } from "./stream-types.js";
import type { TokenUsage } from "./types.js";

export const noUsage = (): TokenUsage => ({ input_tokens: 0, output_tokens: 0, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 });

/** Tokens as budgets count them: input + output + cache reads + cache writes. */
export function tokensOf(u: TokenUsage): number {
  return u.input_tokens + u.output_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens;
}

export function addUsage(into: TokenUsage, u: TokenUsage): void {
  into.input_tokens += u.input_tokens;
  into.output_tokens += u.output_tokens;
  into.cache_read_input_tokens += u.cache_read_input_tokens;
  into.cache_creation_input_tokens += u.cache_creation_input_tokens;
}

/**
 * What a run used, from its result message: the per-model totals (`modelUsage`) when present —
 * some error results (error_max_budget_usd, observed with 2.1.112) carry only the last turn in
 * `usage` — else `usage`.
 */
export function resultUsage(result: ResultMessage): TokenUsage {
  const models = Object.values(result.modelUsage ?? {});
  if (models.length > 0) {
    const u = noUsage();
    for (const m of models) {
      u.input_tokens += m.inputTokens ?? 0;
      u.output_tokens += m.outputTokens ?? 0;
      u.cache_read_input_tokens += m.cacheReadInputTokens ?? 0;
      u.cache_creation_input_tokens += m.cacheCreationInputTokens ?? 0;
    }
    return u;
  }
  const r = result.usage ?? {};
  return { input_tokens: r.input_tokens ?? 0, output_tokens: r.output_tokens ?? 0, cache_read_input_tokens: r.cache_read_input_tokens ?? 0, cache_creation_input_tokens: r.cache_creation_input_tokens ?? 0 };
}

/**
 * Tokens of a run while it streams, from each assistant message's usage (one API call per message
 * id; the CLI repeats a message's usage on each of its content blocks, with the output tokens
 * known so far). An estimate that stays below the result's figure until a turn ends: enough to
 * stop a run that has clearly gone past its token budget, and the count for a run killed before
 * its result.
 */
export class LiveUsage {
  private readonly calls = new Map<string, TokenUsage>();

  see(raw: unknown): void {
    const message = (raw as { message?: { id?: unknown; usage?: Record<string, unknown> } } | undefined)?.message;
    const usage = message?.usage;
    if (!usage || typeof message?.id !== "string") return;
    const n = (k: string) => (typeof usage[k] === "number" ? (usage[k] as number) : 0);
    const before = this.calls.get(message.id);
    this.calls.set(message.id, {
      input_tokens: Math.max(before?.input_tokens ?? 0, n("input_tokens")),
      output_tokens: Math.max(before?.output_tokens ?? 0, n("output_tokens")),
      cache_read_input_tokens: Math.max(before?.cache_read_input_tokens ?? 0, n("cache_read_input_tokens")),
      cache_creation_input_tokens: Math.max(before?.cache_creation_input_tokens ?? 0, n("cache_creation_input_tokens")),
    });
  }

  get usage(): TokenUsage {
    const u = noUsage();
    for (const c of this.calls.values()) addUsage(u, c);
    return u;
  }

  get tokens(): number {
    return tokensOf(this.usage);
  }
}
