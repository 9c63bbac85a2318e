import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import * as z from "zod";
import { HOOK_EVENTS, type HookEvent } from "./events.js";

/**
 * Finding and validating hooks.json. A project file (<cwd>/.cc-executor/hooks.json) wins over the
 * user's (<home>/hooks.json) so a project can pin its own hooks; only one file is used, never a merge,
 * so what runs is always what one file says.
 */
export const PROJECT_HOOKS_FILE = join(".cc-executor", "hooks.json");
export const HOME_HOOKS_FILE = "hooks.json";
export const DEFAULT_HOOK_TIMEOUT_S = 60;

export interface CommandHookSpec {
  kind: "command";
  name?: string;
  /** Shell string, run with the config file's folder as working directory. */
  command: string;
  timeoutS: number;
  onError: "warn" | "block";
}

export interface ModuleHookSpec {
  kind: "module";
  name?: string;
  /** As written in the file (for status and messages). */
  module: string;
  /** Absolute path, resolved against the config file's folder. */
  modulePath: string;
  exportName: string;
  timeoutS: number;
  onError: "warn" | "block";
}

export type HookSpec = CommandHookSpec | ModuleHookSpec;

export interface HooksConfig {
  path: string;
  /** The config file's folder: working directory of command hooks, base of module paths. */
  dir: string;
  hooks: Record<HookEvent, HookSpec[]>;
}

export class HookConfigError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = "HookConfigError";
  }
}

const HookEntrySchema = z
  .strictObject({
    name: z.string().min(1).optional(),
    command: z.string().trim().min(1, "must not be empty").optional(),
    module: z.string().trim().min(1, "must not be empty").optional(),
    export: z.string().min(1).optional(),
    timeout: z.number().positive().max(24 * 3600).default(DEFAULT_HOOK_TIMEOUT_S),
    on_error: z.enum(["warn", "block"]).default("warn"),
  })
  .superRefine((h, ctx) => {
    if ((h.command === undefined) === (h.module === undefined)) ctx.addIssue({ code: "custom", message: 'needs exactly one of "command" or "module"' });
    if (h.export !== undefined && h.module === undefined) ctx.addIssue({ code: "custom", path: ["export"], message: 'only applies to a "module" hook' });
  });

// A single hook object is accepted where a list is expected: it is a list of one.
const HookListSchema = z.preprocess((v) => (v !== null && typeof v === "object" && !Array.isArray(v) ? [v] : v), z.array(HookEntrySchema));

const HooksFileSchema = z.strictObject({
  hooks: z.strictObject(Object.fromEntries(HOOK_EVENTS.map((e) => [e, HookListSchema.optional()])) as Record<HookEvent, z.ZodOptional<typeof HookListSchema>>),
});

/** The file in use: the project's if it exists, else the user's, else none. */
export function findHooksFile(cwd: string, home: string): string | undefined {
  for (const candidate of hooksFileCandidates(cwd, home)) if (isFile(candidate)) return candidate;
  return undefined;
}

export function hooksFileCandidates(cwd: string, home: string): string[] {
  return [resolve(cwd, PROJECT_HOOKS_FILE), resolve(home, HOME_HOOKS_FILE)];
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Reads and validates one hooks file. Errors name the file and the field ("hooks.pre-execute[0].timeout"). */
export function readHooksFile(path: string): HooksConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new HookConfigError(`${path}: cannot read: ${(err as Error).message}`, path);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new HookConfigError(`${path}: not valid JSON: ${(err as Error).message}`, path);
  }
  const parsed = HooksFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const where = formatPath(issue.path);
      let message = issue.message;
      if (issue.code === "unrecognized_keys" && where === "hooks") message += ` (events: ${HOOK_EVENTS.join(", ")})`;
      return `${where || "(top level)"}: ${message}`;
    });
    throw new HookConfigError(`${path}: ${problems.join("; ")}`, path);
  }

  const dir = dirname(path);
  const hooks = Object.fromEntries(HOOK_EVENTS.map((e) => [e, [] as HookSpec[]])) as Record<HookEvent, HookSpec[]>;
  for (const event of HOOK_EVENTS) {
    for (const [index, entry] of (parsed.data.hooks[event] ?? []).entries()) {
      const common = { name: entry.name, timeoutS: entry.timeout, onError: entry.on_error };
      if (entry.command !== undefined) {
        hooks[event].push({ kind: "command", command: entry.command, ...common });
        continue;
      }
      const modulePath = isAbsolute(entry.module!) ? entry.module! : resolve(dir, entry.module!);
      // Checked now so that a typo is reported when the file is loaded, not at the first execution.
      if (!existsSync(modulePath)) throw new HookConfigError(`${path}: ${formatPath(["hooks", event, index, "module"])}: file not found: ${modulePath}`, path);
      hooks[event].push({ kind: "module", module: entry.module!, modulePath, exportName: entry.export ?? "default", ...common });
    }
  }
  return { path, dir, hooks };
}

/** ["hooks", "pre-execute", 0, "timeout"] -> "hooks.pre-execute[0].timeout" */
function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)).join("");
}
