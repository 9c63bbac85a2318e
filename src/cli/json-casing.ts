import type { ExecuteResult } from "../client/index.js";

/**
 * Every CLI JSON document uses the wire protocol's snake_case keys; the TypeScript API stays
 * camelCase (docs/cli.md "JSON output").
 */

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The same value with every object key in snake_case (for documents built from TypeScript objects). */
export function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [snake(k), snakeKeys(v)]));
}

/**
 * `run --json`: the result in snake_case, plus `exit` (what the CLI exits with). The camelCase keys
 * it printed before (exitCode, durationMs, executionId) stay one more release as aliases.
 */
export function runResultJson(r: ExecuteResult, exit: number): Record<string, unknown> {
  return {
    success: r.success,
    status: r.status,
    exit_code: r.exitCode,
    signal: r.signal,
    stdout: r.stdout,
    stderr: r.stderr,
    duration_ms: r.durationMs,
    truncated: r.truncated,
    execution_id: r.executionId,
    pid: r.pid,
    exit,
    // Deprecated aliases, removed in the next release:
    exitCode: r.exitCode,
    durationMs: r.durationMs,
    executionId: r.executionId,
  };
}
