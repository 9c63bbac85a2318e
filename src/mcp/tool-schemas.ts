import * as z from "zod";
import { RunId, Seconds, TokenCount, Usd } from "../protocol/index.js";

// The tools' arguments. Strict: a misspelt argument (timeout_s, max_turn) is an error naming it,
// not silently ignored. The descriptions are what the model reads.

const toolList = z.union([z.array(z.string().min(1)), z.string().min(1)]);

export const CcExecuteArgs = z.strictObject({
  prompt: z.string().min(1, "must not be empty").describe("The task for Claude, as you would type it."),
  json: z.boolean().optional().describe("JSON mode: ask for {result, summary, files_created, files_modified} and parse it (default false)."),
  timeout: Seconds.optional().describe("Wall-clock limit per attempt, in seconds (default: estimated from the history of similar tasks, else CC_EXECUTOR_CLAUDE_TIMEOUT or by prompt complexity)."),
  model: z.string().min(1).optional().describe("Model: sonnet, opus, haiku or a full model name."),
  tools: toolList.optional().describe('Tools claude may use without asking, e.g. ["Read", "Write", "Bash"] (or "Read,Write,Bash").'),
  cwd: z.string().min(1).optional().describe("Working directory (default: the MCP server's)."),
  max_cost: Usd.optional().describe("The most this task may cost over all its attempts, in US dollars (claude's --max-budget-usd); past it the result is error_type budget_exceeded."),
  max_tokens: TokenCount.optional().describe("The most tokens (input + output + cache) it may use over all its attempts."),
  resume_session: z.boolean().optional().describe("false: retries start afresh instead of continuing the failed attempt's Claude session (default true)."),
});

const TaskItem = z.union([
  z.string().min(1).describe("A claude task with this prompt."),
  z
    .looseObject({
      id: z.union([z.string(), z.number()]).optional(),
      title: z.string().optional(),
      prompt: z.string().optional().describe("A claude task's prompt."),
      command: z.string().optional().describe("A direct task's shell command."),
      method: z.enum(["claude", "direct"]).optional(),
      timeout: z.union([z.number(), z.string()]).optional().describe('Seconds, or "90s", "5m", "1h".'),
      tools: toolList.optional(),
      model: z.string().optional(),
      json: z.boolean().optional(),
      parallel_group: z.union([z.string(), z.number()]).optional(),
      max_cost: z.union([z.number(), z.string()]).optional().describe("This task's budget in US dollars, over all its attempts."),
      max_tokens: z.union([z.number(), z.string()]).optional().describe("This task's budget in tokens."),
      on_failure: z.union([z.string(), z.object({ retry: z.number() })]).optional().describe('"stop" (default), "continue", "retry N".'),
    })
    .describe("A task: {prompt} for claude, {command} for a shell command, plus optional fields."),
]);

export const RunTaskListArgs = z
  .strictObject({
    file: z.string().min(1).optional().describe("Path of a task-list file (.md, .yaml/.yml, .json), relative to cwd."),
    tasks: z.array(TaskItem).min(1, "must list at least one task").optional().describe("Inline tasks, in order."),
    text: z.string().min(1).optional().describe("A whole task list as text (markdown, YAML or JSON)."),
    format: z.enum(["markdown", "yaml", "json"]).optional().describe("Format of `text` or `file` (default: from the file name, else guessed)."),
    name: z.string().min(1).optional().describe("Name of an inline `tasks` list."),
    cwd: z.string().min(1).optional().describe("Working directory of every task (default: the MCP server's; a resumed run keeps its own)."),
    resume_run_id: RunId.optional().describe(
      "Continue a stopped run (failed, canceled, interrupted, or stopped by its budget: give a larger max_cost / max_tokens) instead of starting a list.",
    ),
    concurrency: z.number().int().min(1).max(64).optional().describe("Most tasks of one parallel group at once (default 4)."),
    isolation: z
      .enum(["worktree", "none"])
      .optional()
      .describe("Parallel groups' claude tasks each in a git worktree and branch of their own, merged back in task order (default in a git repository), or all in one tree."),
    max_cost: Usd.optional().describe("Budget of the whole run in US dollars: once spent, no task starts and the run stops as budget_exhausted (resumable). With resume_run_id: the new total."),
    max_tokens: TokenCount.optional().describe("Budget of the whole run in tokens (input + output + cache reads and writes)."),
    resume_sessions: z.boolean().optional().describe("false: retries and resumes start claude tasks afresh instead of continuing their Claude sessions (default true)."),
  })
  .superRefine((a, ctx) => {
    const given = (["file", "tasks", "text", "resume_run_id"] as const).filter((k) => a[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: "custom", message: `give exactly one of file, tasks, text or resume_run_id${given.length ? ` (got ${given.join(", ")})` : ""}`, path: [given[1] ?? "tasks"] });
    }
    // Arguments that would be ignored are refused: the caller believes they apply.
    if (a.resume_run_id !== undefined && a.cwd !== undefined) ctx.addIssue({ code: "custom", message: "a resumed run works in the directory it started in; leave cwd out", path: ["cwd"] });
    if (a.name !== undefined && a.tasks === undefined) ctx.addIssue({ code: "custom", message: "names an inline `tasks` list (a file or text list names itself)", path: ["name"] });
    if (a.format !== undefined && a.text === undefined && a.file === undefined) ctx.addIssue({ code: "custom", message: "goes with `text` or `file`", path: ["format"] });
  });

export const ExecuteCommandArgs = z.strictObject({
  command: z.string().min(1, "must not be empty").describe("A shell command line (run by zsh, bash or sh)."),
  timeout: Seconds.nullable()
    .optional()
    .describe("Wall-clock limit in seconds (default: estimated from the history of similar commands, else CC_EXECUTOR_COMMAND_TIMEOUT, 600; null: none). Killed after STREAM_TIMEOUT seconds without output either way."),
  cwd: z.string().min(1).optional().describe("Working directory (default: the MCP server's)."),
});

export const HistoryArgs = z.strictObject({
  limit: z.number().int().min(1).max(1000).optional().describe("At most this many executions, newest first (default 20)."),
  status: z.enum(["running", "completed", "failed", "timeout", "canceled"]).optional(),
  kind: z.enum(["command", "claude", "task"]).optional(),
});
