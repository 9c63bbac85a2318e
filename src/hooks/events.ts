/**
 * The hook events and the shapes that cross the hook boundary: the context a hook is given and
 * the answer it may give back. Field names are snake_case because the context is also JSON on a
 * shell hook's stdin, read by scripts in any language.
 */
export const HOOK_EVENTS = [
  "pre-execute",
  "post-execute",
  "pre-claude",
  "post-claude",
  "pre-task",
  "post-task",
  "pre-task-list",
  "post-task-list",
] as const;

export type HookEvent = (typeof HOOK_EVENTS)[number];

/** Only pre-events can stop an action; post-events report on something that already happened. */
export function isPreEvent(event: HookEvent): boolean {
  return event.startsWith("pre-");
}

/** Which events let a hook replace the command / the prompt. */
export const COMMAND_EVENTS: readonly HookEvent[] = ["pre-execute", "pre-task"];
export const PROMPT_EVENTS: readonly HookEvent[] = ["pre-claude", "pre-task"];

/** What a hook is told. Everything but `event` is optional: each door fills what it knows. */
export interface HookContext {
  event: HookEvent;
  execution_id?: string;
  session_id?: string;
  /** pre/post-execute (and direct tasks): the shell command. */
  command?: string;
  /** pre/post-claude (and claude tasks): the prompt. */
  prompt?: string;
  cwd?: string;
  /** Environment given to the action (not the server's whole environment). */
  env?: Record<string, string>;
  /** pre/post-task: the task (id, title, method, ...). */
  task?: object;
  /** pre/post-task-list: the list (name, tasks, ...). */
  task_list?: object;
  /** post-events: what happened; `status` and `exit_code` are exported as env vars to shell hooks. */
  result?: object;
}

/** What a hook may answer (JSON on a shell hook's stdout, or a module hook's return value). */
export interface HookAnswer {
  /** false on a pre-event: refuse the action. */
  proceed?: boolean;
  message?: string;
  /** pre-execute / pre-task: replace the command. */
  command?: string;
  /** pre-claude / pre-task: replace the prompt. */
  prompt?: string;
  /** Add (or override) environment variables of the action. */
  env?: Record<string, string>;
}

/** One problem reported by a hook that did not stop the action (sent as a `hook.warning` notification). */
export interface HookWarning {
  hook: string;
  event: HookEvent;
  message: string;
}

export interface HookOutcome {
  /** false: a pre-hook refused (or failed with on_error "block"); do not run the action. */
  proceed: boolean;
  /** Why the action was refused. */
  message?: string;
  /** Name of the hook that refused. */
  refusedBy?: string;
  /** Set when a hook replaced the command: run this instead. */
  command?: string;
  /** Set when a hook replaced the prompt: use this instead. */
  prompt?: string;
  /** Variables hooks added: merge over the action's env. */
  env?: Record<string, string>;
  /** "<hook>: <message>" for each hook that failed or answered something that was ignored. */
  warnings: string[];
  /** The same warnings, structured. */
  warningDetails: HookWarning[];
  /**
   * post-claude / post-task: a hook answered proceed:false — the caller marks the finished work
   * failed (e.g. a hook that runs the project's tests). Other post events only warn.
   */
  rejected?: { hook: string; message: string };
  /** Hooks that were run (a refusal stops the chain). */
  ran: number;
}
