import { statSync } from "node:fs";
import { silentLogger, type Logger } from "../logger.js";
import type { GroupRegistry, ShellPreference } from "../process/index.js";
import type { HookRun } from "./answer.js";
import { hooksFileCandidates, readHooksFile, type HookSpec, type HooksConfig } from "./config.js";
import { COMMAND_EVENTS, HOOK_EVENTS, isPreEvent, PROMPT_EVENTS, type HookContext, type HookEvent, type HookOutcome, type HookWarning } from "./events.js";
import { runModuleHook } from "./module-hook.js";
import { runShellHook } from "./shell-hook.js";
import { checkTrust } from "./trust.js";

export interface LoadHooksOptions {
  /** Project directory: <cwd>/.cc-executor/hooks.json is looked at first. */
  cwd: string;
  /** State directory (CC_EXECUTOR_HOME): <home>/hooks.json is the fallback. */
  home: string;
  logger?: Logger;
  /** Shell for command hooks (default: zsh, else bash, else sh, as for commands). */
  shell?: ShellPreference;
  /** Between SIGTERM and SIGKILL when a command hook times out (default 2000). */
  killGraceMs?: number;
  /** Records hook process groups so that a server crash does not leave them behind. */
  registry?: GroupRegistry;
}

export interface HookErrorRecord {
  at: string;
  event: HookEvent;
  hook: string;
  message: string;
}

export interface HookStatus {
  enabled: boolean;
  config_path: string | null;
  /** Hooks per event (every event listed, 0 when none). */
  events: Record<HookEvent, number>;
  hooks: Array<{ event: HookEvent; index: number; name: string; type: "command" | "module"; command?: string; module?: string; export?: string; timeout: number; on_error: "warn" | "block" }>;
  /** Most recent hook failures, newest last. */
  last_errors: HookErrorRecord[];
  /** The config file changed into something invalid; the previous hooks (if any) are still in use. */
  config_error?: string;
  /** A project hooks file that is not trusted (new, or changed since trusted): it does not run. */
  untrusted?: { path: string; message: string };
  message?: string;
}

const MAX_ERRORS = 20;

/** Identifies a version of the file cheaply: a changed mtime, size or inode means "read it again". */
type FileStamp = { path: string; stamp: string };

/**
 * The hooks of one config file, re-read when the file changes. The file is looked up on every run
 * (a stat or two: cheap), so hooks can be added, edited or removed without a restart; a file that
 * becomes invalid keeps the previous hooks in force (dropping a guard because of a typo would be
 * worse) and says so in every outcome until fixed.
 */
export class HookSet {
  private config: HooksConfig | undefined;
  private stamp: string | undefined;
  private configError: { file: string; message: string } | undefined;
  private untrusted: { path: string; message: string } | undefined;
  private readonly errors: HookErrorRecord[] = [];
  private readonly logger: Logger;

  /** @internal use loadHooks() or emptyHookSet() */
  constructor(
    private readonly candidates: string[],
    private readonly options: Omit<LoadHooksOptions, "cwd" | "home">,
    /** The project's file (runs only when trusted in `home`), when it is one of the candidates. */
    private readonly project?: { file: string; home: string },
  ) {
    this.logger = options.logger ?? silentLogger;
  }

  /** The file in use, if any (as of the last run or status). */
  get configPath(): string | undefined {
    return this.config?.path;
  }

  /** Runs the hooks of `event` in order; each sees the changes made by those before it. */
  async run(event: HookEvent, context: Omit<HookContext, "event"> = {}): Promise<HookOutcome> {
    this.refresh();
    const outcome: HookOutcome = { proceed: true, warnings: [], warningDetails: [], ran: 0 };
    const config = this.config;
    const hooks = config?.hooks[event] ?? [];
    if (this.configError) {
      const inUse = config ? "the previous hooks are still in use" : "no hooks are in use";
      this.warn(outcome, { hook: this.configError.file, event, message: `invalid hooks file (${inUse}): ${this.configError.message}` });
    }
    // once per action: its pre-event (the post-event would repeat it)
    if (this.untrusted && isPreEvent(event)) this.warn(outcome, { hook: this.untrusted.path, event, message: this.untrusted.message });
    if (hooks.length === 0) return outcome;

    const pre = isPreEvent(event);
    const ctx: HookContext = { ...context, event };
    for (const [index, hook] of hooks.entries()) {
      const name = hookName(event, index, hook);
      outcome.ran++;
      const run: HookRun = hook.kind === "command" ? await runShellHook(hook, ctx, { dir: config!.dir, ...this.options }) : await runModuleHook(hook, ctx);
      this.logger.debug({ event, hook: name, result: run.kind }, "hook ran");

      if (run.kind === "failed") {
        this.recordError({ at: new Date().toISOString(), event, hook: name, message: run.message });
        if (pre && hook.onError === "block") return this.refuse(outcome, name, `hook ${name} failed: ${run.message}`);
        this.warn(outcome, { hook: name, event, message: run.message });
        continue;
      }
      if (run.kind === "refused") return this.refuse(outcome, name, run.message);

      const answer = run.answer;
      if (!answer) continue;
      if (answer.proceed === false) {
        if (pre) return this.refuse(outcome, name, answer.message || `refused by hook ${name}`);
        else outcome.rejected ??= { hook: name, message: answer.message || `rejected by hook ${name}` };
      }
      if (answer.command !== undefined) {
        if (COMMAND_EVENTS.includes(event)) ctx.command = outcome.command = answer.command;
        else this.warn(outcome, { hook: name, event, message: `"command" cannot be changed on ${event}; ignored` });
      }
      if (answer.prompt !== undefined) {
        if (PROMPT_EVENTS.includes(event)) ctx.prompt = outcome.prompt = answer.prompt;
        else this.warn(outcome, { hook: name, event, message: `"prompt" cannot be changed on ${event}; ignored` });
      }
      if (answer.env !== undefined && Object.keys(answer.env).length > 0) {
        if (pre) {
          ctx.env = { ...ctx.env, ...answer.env };
          outcome.env = { ...outcome.env, ...answer.env };
        } else this.warn(outcome, { hook: name, event, message: `"env" has no effect on ${event}; ignored` });
      }
    }
    return outcome;
  }

  /** Summary for the protocol method hook_status. */
  status(): HookStatus {
    this.refresh();
    const events = Object.fromEntries(HOOK_EVENTS.map((e) => [e, this.config?.hooks[e].length ?? 0])) as Record<HookEvent, number>;
    const hooks: HookStatus["hooks"] = [];
    for (const event of HOOK_EVENTS) {
      for (const [index, h] of (this.config?.hooks[event] ?? []).entries()) {
        const common = { event, index, name: hookName(event, index, h), timeout: h.timeoutS, on_error: h.onError };
        hooks.push(h.kind === "command" ? { ...common, type: "command", command: h.command } : { ...common, type: "module", module: h.module, export: h.exportName });
      }
    }
    const status: HookStatus = { enabled: hooks.length > 0, config_path: this.config?.path ?? null, events, hooks, last_errors: [...this.errors] };
    if (this.configError) status.config_error = this.configError.message;
    if (this.untrusted) status.untrusted = { ...this.untrusted };
    if (hooks.length === 0) status.message = this.config ? `no hooks configured in ${this.config.path}` : "no hooks configured";
    return status;
  }

  /**
   * Loads the file for the first time; throws HookConfigError when it is invalid (a bad file at
   * start is a configuration error, not something to run without).
   * @internal
   */
  init(): this {
    const found = this.currentFile();
    if (found) {
      this.config = readHooksFile(found.path);
      this.stamp = found.stamp;
    }
    return this;
  }

  /** Re-reads the file when another one is in use now, or it changed, or it is gone. */
  private refresh(): void {
    const found = this.currentFile();
    if (!found) {
      if (this.config) this.logger.info({ file: this.config.path }, "hooks file removed; no hooks");
      this.config = this.stamp = this.configError = undefined;
      return;
    }
    if (found.stamp === this.stamp) return;
    this.stamp = found.stamp; // also for a bad version: reported once, not re-read on every run
    try {
      this.config = readHooksFile(found.path);
      this.configError = undefined;
      this.logger.info({ file: found.path }, "hooks loaded");
    } catch (err) {
      this.configError = { file: found.path, message: (err as Error).message };
      this.logger.error({ file: found.path, err: this.configError.message }, this.config ? "invalid hooks file; keeping the previous hooks" : "invalid hooks file; no hooks");
    }
  }

  /**
   * The first candidate that exists and may run. A project file that is not trusted (new, or it
   * or a file it runs changed since) is passed over, with a warning, for the user's own file.
   */
  private currentFile(): FileStamp | undefined {
    let untrusted: { path: string; message: string } | undefined;
    let found: FileStamp | undefined;
    for (const path of this.candidates) {
      let st;
      try {
        st = statSync(path);
      } catch {
        continue; // not there
      }
      if (!st.isFile()) continue;
      if (this.project && path === this.project.file) {
        const trust = checkTrust(this.project.home, path);
        if (!trust.trusted) {
          untrusted = { path, message: trust.message };
          continue;
        }
      }
      found = { path, stamp: `${path}:${st.mtimeMs}:${st.ctimeMs}:${st.size}:${st.ino}` };
      break;
    }
    if (untrusted?.message !== this.untrusted?.message && untrusted) this.logger.warn({ file: untrusted.path }, untrusted.message);
    this.untrusted = untrusted;
    return found;
  }

  private refuse(outcome: HookOutcome, hook: string, message: string): HookOutcome {
    this.logger.info({ hook, message }, "hook refused the action");
    return { ...outcome, proceed: false, message, refusedBy: hook };
  }

  private warn(outcome: HookOutcome, warning: HookWarning): void {
    this.logger.warn(warning, "hook warning");
    outcome.warnings.push(`${warning.hook}: ${warning.message}`);
    outcome.warningDetails.push(warning);
  }

  private recordError(record: HookErrorRecord): void {
    this.errors.push(record);
    if (this.errors.length > MAX_ERRORS) this.errors.shift();
  }
}

/** "pre-execute[0] ./check.sh", or the hook's own name when it has one. */
function hookName(event: HookEvent, index: number, hook: HookSpec): string {
  if (hook.name) return hook.name;
  const what = hook.kind === "command" ? hook.command : `${hook.module}#${hook.exportName}`;
  return `${event}[${index}] ${what.length > 60 ? `${what.slice(0, 57)}...` : what}`;
}

/**
 * The hooks for a server or runner: <cwd>/.cc-executor/hooks.json when the user trusted it
 * (trust.ts), else <home>/hooks.json, else none (then every run is a no-op that spawns nothing).
 * Throws HookConfigError for an invalid file.
 */
export function loadHooks(options: LoadHooksOptions): HookSet {
  const { cwd, home, ...rest } = options;
  const [projectFile, homeFile] = hooksFileCandidates(cwd, home) as [string, string];
  // (a state directory inside the project makes both one file: the user's own)
  return new HookSet([projectFile, homeFile], rest, projectFile === homeFile ? undefined : { file: projectFile, home }).init();
}

/** A HookSet that never looks at the disk: for library callers that did not ask for hooks. */
export function emptyHookSet(): HookSet {
  return new HookSet([], {});
}
