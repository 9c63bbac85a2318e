import { loadConfig } from "../config.js";
import { classifyTask, storeOptionsFrom, typicalDuration, type Store } from "../store/index.js";
import { openStoreOrFallback } from "../store/fallback.js";
import type { TaskSpec } from "../tasks/index.js";

/**
 * Expected durations from history (the median of recent successful runs of the same class of
 * work, as `wait` uses them) for ETAs in live progress. Never slows the work down: the store is
 * read with a time budget, and no answer means no ETA.
 */

const STORE_BUDGET_MS = 1500;

/** Runs `use` with the configured store, giving up (undefined) after `budgetMs`. */
export async function withStoreBudget<T>(use: (store: Store) => Promise<T>, budgetMs = STORE_BUDGET_MS, config: ReturnType<typeof loadConfig> = loadConfig()): Promise<T | undefined> {
  const work = (async () => {
    const store = await openStoreOrFallback(storeOptionsFrom(config));
    try {
      return await use(store);
    } finally {
      await store.close().catch(() => undefined);
    }
  })();
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), budgetMs)));
  try {
    return await Promise.race([work.catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Task id -> typical duration (ms) of the tasks that have history. */
export async function expectedTaskDurations(tasks: readonly Pick<TaskSpec, "id" | "method" | "prompt" | "command">[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  await withStoreBudget(async (store) => {
    const byCategory = new Map<string, number | undefined>();
    for (const t of tasks) {
      const category = classifyTask(t.prompt ?? t.command ?? "", t.method === "claude" ? "claude" : "command");
      if (!byCategory.has(category)) byCategory.set(category, (await typicalDuration(store, category))?.ms);
      const ms = byCategory.get(category);
      if (ms !== undefined) out.set(t.id, ms);
    }
  });
  return out;
}

/** The typical duration of a claude task with this prompt, if there is history. */
export async function expectedClaudeDuration(prompt: string): Promise<number | undefined> {
  return withStoreBudget(async (store) => (await typicalDuration(store, classifyTask(prompt, "claude")))?.ms);
}
