import type { HookOutcome, HookSet, HookWarning } from "../hooks/index.js";
import { displayCommand, startProcess, type SpawnSpec, type SupervisedProcess } from "../process/index.js";
import { keepCommandOutput, type RunFolders } from "../runs/index.js";
import { historyStatus, type HistoryRecorder, type TimeoutEstimate } from "../store/index.js";
import { planTimeout } from "./timeout.js";

/** What a door (a server method, an MCP tool) runs work with: hooks, history and the command policy. */
export interface DoorServices {
  hooks: HookSet;
  /** Absent: nothing is recorded and nothing estimated (e.g. the store could not be opened). */
  history?: HistoryRecorder;
  /** CC_EXECUTOR_ESTIMATE_TIMEOUTS: estimate a timeout from history for work given none. */
  estimateTimeouts: boolean;
  /** The command policy: why a command is refused, or undefined. */
  refuseCommand?: (command: string | readonly string[]) => string | undefined;
  /** Where each execution keeps its output (absent: nothing is kept). */
  runs?: RunFolders;
}

export interface CommandRequest {
  executionId: string;
  sessionId?: string;
  command: string | readonly string[];
  cwd?: string;
  env?: Record<string, string>;
  /** Seconds; null: none; undefined: estimated from history (when enabled), else none. */
  timeoutS?: number | null;
  /** The rest of the spawn (shell, limits, registry, logger...). */
  spawn: Omit<SpawnSpec, "command" | "cwd" | "env" | "timeoutMs">;
  /** Warnings of the pre-execute hooks. */
  onWarning: (warning: HookWarning) => void;
  /**
   * Takes a resource (a process slot) once the command is allowed, right before the spawn; it may
   * throw. Its release is called here when the spawn fails, else it is GuardedCommand.release.
   */
  reserve?: () => () => void;
}

export interface GuardedCommand {
  readonly executionId: string;
  readonly proc: SupervisedProcess;
  /** What was run: a pre-execute hook may have rewritten the command. */
  readonly command: string | readonly string[];
  /** The same, as text (history label, hook context). */
  readonly text: string;
  readonly timeoutS: number | null;
  /** Set when the timeout was estimated from history. */
  readonly estimate?: TimeoutEstimate;
  /** Gives back what `reserve` took (idempotent when reserve's release is). */
  readonly release: () => void;
  /**
   * Records the end in history (at once, before anything is awaited) and runs the post-execute
   * hooks, which are given `result`. The outcome's warnings and `rejected` are the caller's to report.
   */
  finish(result: { status: string; exit_code?: number | null; duration_ms?: number }): Promise<HookOutcome>;
}

/** `refused`: the reason, for "Command not allowed: <reason>". */
export type GuardedCommandStart = { refused: string } | { started: GuardedCommand };

/**
 * One shell command as every door runs it: the command policy, pre-execute hooks (which may refuse,
 * rewrite the command — checked against the policy again — or add env), a timeout (given, or
 * estimated from history), the spawn, and the history record. Spawn errors (SpawnError) are thrown.
 */
export async function startGuardedCommand(door: DoorServices, req: CommandRequest): Promise<GuardedCommandStart> {
  const refused = door.refuseCommand?.(req.command);
  if (refused) return { refused };
  const asText = (c: string | readonly string[]) => (typeof c === "string" ? c : displayCommand(c));
  const pre = await door.hooks.run("pre-execute", { execution_id: req.executionId, session_id: req.sessionId, command: asText(req.command), cwd: req.cwd, env: req.env });
  pre.warningDetails.forEach(req.onWarning);
  if (!pre.proceed) return { refused: pre.message ?? "refused by a pre-execute hook" };
  const command = pre.command ?? req.command;
  const text = asText(command);
  if (pre.command !== undefined) {
    const refusedRewrite = door.refuseCommand?.(command);
    if (refusedRewrite) return { refused: `${refusedRewrite} (as rewritten by a pre-execute hook)` };
  }
  const timeout = await planTimeout(door, text, "command", req.timeoutS);
  const release = req.reserve?.() ?? (() => {});
  let proc: SupervisedProcess;
  try {
    proc = await startProcess({
      ...req.spawn,
      command,
      cwd: req.cwd,
      env: pre.env ? { ...req.env, ...pre.env } : req.env,
      timeoutMs: timeout.timeoutS === null ? undefined : timeout.timeoutS * 1000,
    });
  } catch (err) {
    release();
    throw err;
  }
  const id = req.executionId;
  keepCommandOutput(door.runs, { executionId: id, text, cwd: req.cwd }, proc);
  door.history?.started({ id, kind: "command", text, estimatorKind: "command", sessionId: req.sessionId, timeoutS: timeout.timeoutS ?? undefined, timeoutBasis: timeout.basis });
  return {
    started: {
      executionId: id,
      proc,
      command,
      text,
      timeoutS: timeout.timeoutS,
      estimate: timeout.estimate,
      release,
      finish: (result) => {
        door.history?.ended(id, { status: historyStatus(result.status), exit_code: result.exit_code ?? undefined, duration_ms: result.duration_ms });
        return door.hooks.run("post-execute", { execution_id: id, session_id: req.sessionId, command: text, cwd: req.cwd, result });
      },
    },
  };
}
