import * as z from "zod";
import { RpcError } from "./messages.js";
import { ErrorCodes } from "./names.js";

/** Shells a request may ask for; "default" means the server's configured shell. */
export const ShellName = z.enum(["zsh", "bash", "sh", "default"]);
export type ShellName = z.infer<typeof ShellName>;

/** A duration in seconds, as every request gives timeouts (at most a week). */
export const Seconds = z.number().positive().max(7 * 24 * 3600);
const seconds = Seconds;

/** Environment variables a request adds for its process. */
export const EnvVars = z.record(z.string(), z.string());

/** A task-list run id: `tl-` and word characters (it names a folder: no `/`, no `..`). */
export const RunId = z.string().regex(/^tl-[\w-]+$/, "must be a task-list run id (tl-...)");

/** claude permission modes a request may ask for. */
export const PermissionMode = z.enum(["default", "acceptEdits", "bypassPermissions", "plan", "dontAsk", "auto"]);

/** A budget in US dollars, as the claude CLI reports costs. */
export const Usd = z.number().positive().max(1_000_000);
const usd = Usd;

/** A budget in tokens: input + output + cache reads and writes. */
export const TokenCount = z.number().int().positive().max(1e12);
const tokens = TokenCount;

/**
 * `execute` params. `command` is a shell string (run through the shell) or an argv array
 * (run directly, no shell). Unknown members are ignored so that newer clients keep working.
 */
export const ExecuteParams = z.object({
  command: z.union([z.string().min(1, "must not be empty"), z.array(z.string()).min(1, "must not be empty")]),
  // The original's clients may send "30" (its pydantic model took numeric strings).
  timeout: z.preprocess((v) => (typeof v === "string" && /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v), seconds.nullish()),
  /** Seconds without output before the process is killed (overrides STREAM_TIMEOUT). */
  inactivity_timeout: seconds.nullish(),
  cwd: z.string().min(1).nullish(),
  env: EnvVars.nullish(),
  shell: ShellName.nullish(),
  /** Keep running for the grace period when the connection drops; `attach` picks it up again. */
  resumable: z.boolean().nullish(),
});
export type ExecuteParams = z.infer<typeof ExecuteParams>;

export const AttachParams = z.object({
  execution_id: z.string().min(1),
  /** The last event_seq the client saw; everything after it is replayed. */
  since_seq: z.number().int().min(0).nullish(),
});
export type AttachParams = z.infer<typeof AttachParams>;

/** `cc_execute` params: one claude task (docs/protocol.md, docs/claude.md). */
export const CcExecuteParams = z.object({
  prompt: z.string().min(1, "must not be empty"),
  json: z.boolean().nullish(),
  timeout: seconds.nullish(),
  model: z.string().min(1).nullish(),
  max_turns: z.number().int().positive().nullish(),
  tools: z.array(z.string().min(1)).nullish(),
  disallowed_tools: z.array(z.string().min(1)).nullish(),
  append_system_prompt: z.string().nullish(),
  mcp_config: z.string().nullish(),
  permission_mode: PermissionMode.nullish(),
  cwd: z.string().min(1).nullish(),
  env: EnvVars.nullish(),
  /** The anti-hallucination UUID check (default true). */
  uuid: z.boolean().nullish(),
  wait_on_limit: z.boolean().nullish(),
  max_attempts: z.number().int().min(1).max(20).nullish(),
  /** The most this task may cost (US dollars) / use (tokens) over all its attempts. */
  max_cost: usd.nullish(),
  max_tokens: tokens.nullish(),
  /** false: retries start afresh instead of continuing the failed attempt's Claude session. */
  resume_session: z.boolean().nullish(),
  /** Survive a dropped connection (default true for claude tasks). */
  resumable: z.boolean().nullish(),
  /** A server-owned run: answered at once, runs to its end whatever happens to this connection. */
  detach: z.boolean().nullish(),
});
export type CcExecuteParams = z.infer<typeof CcExecuteParams>;

/**
 * `run_task_list` params: exactly one of `file` (a path on the server's machine), `text` (the list
 * itself, with `format` or sniffed), `tasks` (strings or task objects) or `resume_run_id`.
 */
export const RunTaskListParams = z
  .object({
    file: z.string().min(1).nullish(),
    text: z.string().min(1).nullish(),
    format: z.enum(["markdown", "yaml", "json"]).nullish(),
    /** With `text`: the file it was read from, for messages and the report. */
    source: z.string().min(1).nullish(),
    tasks: z.array(z.unknown()).min(1, "must list at least one task").nullish(),
    name: z.string().min(1).nullish(),
    defaults: z.record(z.string(), z.unknown()).nullish(),
    on_failure: z.union([z.string(), z.object({ retry: z.number() })]).nullish(),
    resume_run_id: RunId.nullish(),
    concurrency: z.number().int().min(1).max(64).nullish(),
    cwd: z.string().min(1).nullish(),
    env: EnvVars.nullish(),
    /** Also write the report to this path on the server (markdown, or JSON for *.json). */
    report: z.string().min(1).nullish(),
    context_chars: z.number().int().min(500).max(1_000_000).nullish(),
    /** Parallel groups' claude tasks in git worktrees of their own, or all in one tree (overrides the list). */
    isolation: z.enum(["worktree", "none"]).nullish(),
    /** The run's budget (overrides the list's; with resume_run_id: the new total). */
    max_cost: usd.nullish(),
    max_tokens: tokens.nullish(),
    /** false: retries and resumes start claude tasks afresh instead of continuing their sessions. */
    resume_sessions: z.boolean().nullish(),
    /** Survive a dropped connection (default true); `attach` takes the run id. */
    resumable: z.boolean().nullish(),
    /** A server-owned run: answered at once, runs to its end whatever happens to this connection. */
    detach: z.boolean().nullish(),
  })
  .refine((p) => [p.file, p.text, p.tasks, p.resume_run_id].filter((v) => v != null).length === 1, {
    message: "give exactly one of file, text, tasks or resume_run_id",
    path: ["tasks"],
  });
export type RunTaskListParams = z.infer<typeof RunTaskListParams>;

export const ControlType = z
  .string()
  .transform((s) => s.toUpperCase())
  .pipe(z.enum(["PAUSE", "RESUME", "CANCEL"]));

/**
 * `control` params: `type` (or `action`, as some of the original's clients send it), any case;
 * INFO or STATUS (an extension) asks what the session runs. `execution_id`, when given, must name
 * the session's running work.
 */
export const ControlParams = z
  .object({
    type: z.string().optional(),
    action: z.string().optional(),
    execution_id: z.string().min(1).nullish(),
  })
  .transform((p, ctx) => {
    const given = p.type ?? p.action;
    const parsed = z
      .string()
      .transform((s) => s.toUpperCase())
      .pipe(z.enum(["PAUSE", "RESUME", "CANCEL", "INFO", "STATUS"]))
      .safeParse(given);
    if (!parsed.success) {
      ctx.addIssue({ code: "custom", path: ["type"], message: given === undefined ? "expected PAUSE, RESUME or CANCEL (or INFO)" : `unknown control ${JSON.stringify(given)}: expected PAUSE, RESUME or CANCEL (or INFO)` });
      return z.NEVER;
    }
    return { type: parsed.data === "STATUS" ? ("INFO" as const) : parsed.data, execution_id: p.execution_id ?? undefined };
  });
export type ControlParams = z.infer<typeof ControlParams>;

/** Formats a zod error as "Invalid params: timeout: Invalid input: expected number, received string". */
export function describeZodError(error: z.ZodError): string {
  const parts = error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join(".") : "params";
    return `${path}: ${issue.message}`;
  });
  return `Invalid params: ${parts.join("; ")}`;
}

/** Validates params or throws the -32602 RpcError that names the bad field. */
export function parseParams<S extends z.ZodType>(schema: S, params: unknown): z.infer<S> {
  const result = schema.safeParse(params);
  if (!result.success) throw new RpcError(ErrorCodes.invalidParams, describeZodError(result.error));
  return result.data;
}
