import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { lazyRequire } from "./lazy-require.js";

/**
 * Where settings come from, and which places may set which settings.
 *
 * The user's own places: flags, the environment, and `config.env` in the state directory
 * (CC_EXECUTOR_HOME). A project checkout's files (`.cc-executor/config.env`, `.env`) are written by
 * whoever wrote the checkout, so they may set everyday settings (port, shell, timeouts) but never a
 * setting that decides who may connect, what may run, or where the user's secrets and hooks live.
 */

/** Project settings files, later ones winning: `.cc-executor/config.env` (written by `cc-executor init`), then `.env`. */
export const PROJECT_CONFIG_FILES = [join(".cc-executor", "config.env"), ".env"];

/** The user's settings file inside the state directory. */
export const HOME_CONFIG_FILE = "config.env";

/**
 * Variables a project file may not set: auth and its token, the bind address, allowed origins,
 * TLS and plain-text acceptance, token-less peer auth, the command policy, the state directory (it
 * holds the token and the user's hooks), Redis (jobs and history go there), claude's permission
 * mode, what happens to ANTHROPIC_API_KEY, how executions are contained (cgroups, limits), and the
 * secret that signs queued jobs (a checkout that knew it could have jobs run on the workers).
 */
export const USER_ONLY_VARS: ReadonlySet<string> = new Set([
  "CC_EXECUTOR_HOME",
  "CC_EXECUTOR_TOKEN",
  "CC_EXECUTOR_AUTH",
  "CC_EXECUTOR_HOST",
  "CC_EXECUTOR_ALLOWED_ORIGINS",
  "CC_EXECUTOR_PEER_AUTH",
  "CC_EXECUTOR_TLS_CERT",
  "CC_EXECUTOR_TLS_KEY",
  "CC_EXECUTOR_ALLOW_PLAINTEXT",
  "CC_EXECUTOR_ALLOW",
  "CC_EXECUTOR_DENY",
  "REDIS_URL",
  "CC_EXECUTOR_PERMISSION_MODE",
  "CC_EXECUTOR_CLAUDE_API_KEY",
  "CC_EXECUTOR_CONTAINMENT",
  "CC_EXECUTOR_PIDS_MAX",
  "CC_EXECUTOR_MEMORY_MAX",
  "CC_EXECUTOR_QUEUE_SECRET",
]);

/** One file of settings: its path and its variables. */
export interface SettingsFile {
  path: string;
  values: Record<string, string>;
}

export class SettingsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SettingsFileError";
  }
}

function readSettingsFile(path: string): SettingsFile | undefined {
  if (!existsSync(path)) return undefined;
  try {
    // dotenv is loaded only when there is a file to read: most commands find none
    const { parse } = lazyRequire("dotenv") as typeof import("dotenv");
    return { path, values: parse(readFileSync(path)) };
  } catch (err) {
    throw new SettingsFileError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

/** The project's settings files in `cwd` that exist, in precedence order (later wins). */
export function projectSettingsFiles(cwd: string): SettingsFile[] {
  return PROJECT_CONFIG_FILES.map((name) => readSettingsFile(join(cwd, name))).filter((f): f is SettingsFile => f !== undefined);
}

/** `<home>/config.env`, the user's own settings file, if it exists. */
export function homeSettingsFile(home: string): SettingsFile | undefined {
  return readSettingsFile(join(home, HOME_CONFIG_FILE));
}

/**
 * Merges the layers into one variable map plus where each variable came from. Precedence: flags
 * (applied by the caller) > environment > project files (everyday settings only) > the user's
 * config.env > defaults. Each project value for a user-only variable is dropped and reported.
 */
export function mergeSettings(layers: { env: Record<string, string>; project: SettingsFile[]; home: SettingsFile | undefined }, warn: (message: string) => void): { values: Record<string, string>; sources: Record<string, string> } {
  const values: Record<string, string> = {};
  const sources: Record<string, string> = {};
  const set = (name: string, value: string, source: string) => {
    values[name] = value;
    sources[name] = source;
  };
  for (const [name, value] of Object.entries(layers.home?.values ?? {})) set(name, value, layers.home!.path);
  for (const file of layers.project) {
    for (const [name, value] of Object.entries(file.values)) {
      if (!USER_ONLY_VARS.has(name)) set(name, value, file.path);
      else if (layers.env[name] === undefined && !isTheAppsOwn(name, file.path)) {
        warn(`${file.path}: ${name} ignored: a project file may not set it (security settings come only from the environment, flags or ${HOME_CONFIG_FILE} in CC_EXECUTOR_HOME)`);
      }
    }
  }
  for (const [name, value] of Object.entries(layers.env)) set(name, value, `environment (${name})`);
  return { values, sources };
}

/**
 * A project's generic `.env` usually belongs to the application in it: its REDIS_URL is the app's,
 * not meant for us. It is ignored like any user-only value, but without a warning on every command.
 * Our own names (CC_EXECUTOR_*) and our own file (.cc-executor/config.env) still warn.
 */
function isTheAppsOwn(name: string, path: string): boolean {
  return !name.startsWith("CC_EXECUTOR_") && basename(path) === ".env";
}

const printed = new Set<string>();

/** Default warning sink: stderr, each message once per process. */
export function warnOnStderr(message: string): void {
  if (printed.has(message)) return;
  printed.add(message);
  process.stderr.write(`cc-executor: warning: ${message}\n`);
}
