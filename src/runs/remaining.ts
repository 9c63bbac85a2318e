import { classifyTask, typicalDuration, type Store } from "../store/index.js";
import { loadRunState } from "../tasks/index.js";
import type { RunningRun } from "./run-status.js";

/** About how long a running run has left, from the typical duration of similar past work. */
export interface RemainingEstimate {
  /** Milliseconds, or null when no remaining piece of work has history. */
  remaining_ms: number | null;
  /** "history": every remaining piece has history; "partial": some (the rest is not counted); "none". */
  basis: "history" | "partial" | "none";
  /** Past executions the estimate rests on. */
  samples: number;
}

interface Piece {
  category: string;
  /** How long it has run already (the running piece), else 0. */
  elapsedMs: number;
}

/** Elapsed time and the estimate of what is left, for `wait`'s "still running" answer. */
export interface RunTiming {
  started_at?: string;
  elapsed_ms?: number;
  /** The timeout of the claude task, or of the running task of a list. */
  timeout_s?: number;
  estimate: RemainingEstimate;
}

/**
 * Times a running run from the history store: the claude task (its own record gives its start,
 * category and timeout) or the running and pending tasks of a list (pending ones classified as
 * the runner will classify them). Never throws: a store that fails gives no estimate.
 */
export async function runTiming(store: Store, home: string, run: RunningRun, now = Date.now()): Promise<RunTiming> {
  const pieces: Piece[] = [];
  let startedAt = run.started_at;
  let timeoutS: number | undefined;
  const record = async (id: string) => store.getExecution(id).catch(() => undefined);
  if (run.kind === "claude") {
    const rec = await record(run.id);
    if (rec) {
      startedAt ??= new Date(rec.started_at).toISOString();
      timeoutS = rec.timeout_s;
      pieces.push({ category: rec.category, elapsedMs: now - rec.started_at });
    }
  } else {
    let state;
    try {
      state = loadRunState(home, run.id);
    } catch {
      state = undefined;
    }
    for (const task of state?.list.tasks ?? []) {
      const entry = state!.tasks[task.id];
      if (entry?.status === "completed") continue;
      if (entry?.status === "running") {
        const rec = await record(entry.execution_id);
        timeoutS ??= rec?.timeout_s;
        pieces.push({ category: rec?.category ?? classifyTask(task.prompt ?? task.command ?? "", task.method === "claude" ? "claude" : "command"), elapsedMs: now - Date.parse(entry.started_at) });
      } else if (entry === undefined) {
        pieces.push({ category: classifyTask(task.prompt ?? task.command ?? "", task.method === "claude" ? "claude" : "command"), elapsedMs: 0 });
      }
    }
  }
  const estimate = await estimateRemaining(store, pieces);
  return { started_at: startedAt, elapsed_ms: startedAt ? Math.max(0, now - Date.parse(startedAt)) : undefined, timeout_s: timeoutS, estimate };
}

async function estimateRemaining(store: Store, pieces: Piece[]): Promise<RemainingEstimate> {
  const typical = new Map<string, Awaited<ReturnType<typeof typicalDuration>>>();
  for (const p of pieces) if (!typical.has(p.category)) typical.set(p.category, await typicalDuration(store, p.category));
  let remaining = 0;
  let known = 0;
  let samples = 0;
  for (const p of pieces) {
    const t = typical.get(p.category);
    if (!t) continue;
    known++;
    remaining += Math.max(0, t.ms - p.elapsedMs);
  }
  for (const t of typical.values()) samples += t?.samples ?? 0;
  const basis = known === 0 ? "none" : known === pieces.length ? "history" : "partial";
  return { remaining_ms: known === 0 ? null : remaining, basis, samples };
}
