import { performance } from "node:perf_hooks";

/**
 * How long a command may take when it runs inside a caller's tool timeout. Claude Code's Bash tool
 * passes its environment to the commands it runs, BASH_DEFAULT_TIMEOUT_MS included; a command
 * that returns within half of it fits the tool's timeout with room for a slow start on a busy
 * machine, so the tool never moves it to the background or kills it.
 */
export function callerBudgetS(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const ms = Number(env.BASH_DEFAULT_TIMEOUT_MS);
  return Number.isFinite(ms) && ms > 0 ? ms / 2000 : undefined;
}

/** Epoch ms, `seconds` after this process started: node's own start-up counts against the budget. */
export function deadlineAfter(seconds: number): number {
  return performance.timeOrigin + seconds * 1000;
}
