import { isAbsolute, resolve } from "node:path";
import { ENV_VARS, loadConfig, type Config } from "../config.js";
import type { ExecutorClient } from "../client/index.js";
import { CliError, ExitCode } from "./exit-codes.js";
import { warn } from "./output.js";
import type { EnvFlags } from "./caller-env-options.js";
import { redactUrl } from "../redact-url.js";

/**
 * What a request carries from the caller, and what stays the server's (docs/cli.md "What a
 * request carries"). Carried: the working directory, the command's own options, CLAUDE_BIN
 * (claude and task lists), the settings in CARRIED below (when set here and not given as flags),
 * and the variables named with --env K=V / --pass-env NAME. Every other setting is the running
 * server's own; when one set here differs from the server's, the CLI says so instead of dropping
 * it silently. With no server running, the work runs in-process with this environment in full.
 */

/** Settings a request carries, per command, as request parameters. */
export const CARRIED = {
  run: ["CC_EXECUTOR_SHELL", "STREAM_TIMEOUT"],
  claude: ["CC_EXECUTOR_PERMISSION_MODE", "CC_EXECUTOR_WAIT_ON_LIMIT", "CC_EXECUTOR_CLAUDE_MAX_ATTEMPTS"],
  tasks: [],
  /** doctor compares what no command carries. */
  doctor: ["CC_EXECUTOR_SHELL", "STREAM_TIMEOUT", "CC_EXECUTOR_PERMISSION_MODE", "CC_EXECUTOR_WAIT_ON_LIMIT", "CC_EXECUTOR_CLAUDE_MAX_ATTEMPTS"],
} as const satisfies Record<string, ReadonlyArray<keyof typeof ENV_VARS>>;

export type CallerCommand = keyof typeof CARRIED;

/** Settings that only say which server (or store) this command talks to: used here, never compared. */
const CONNECTION: ReadonlyArray<keyof typeof ENV_VARS> = ["CC_EXECUTOR_HOST", "CC_EXECUTOR_PORT", "CC_EXECUTOR_HOME", "CC_EXECUTOR_TOKEN", "LOG_LEVEL"];

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The `env` of a request: --env and --pass-env, and for claude work CLAUDE_BIN from here (made
 * absolute: the server's working directory is not this one). Undefined when there is nothing.
 */
export function requestEnv(flags: EnvFlags, options: { claude: boolean }, env: NodeJS.ProcessEnv = process.env): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  const bin = env.CLAUDE_BIN?.trim();
  if (options.claude && bin) out.CLAUDE_BIN = bin.includes("/") && !isAbsolute(bin) ? resolve(bin) : bin;
  for (const name of flags.passEnv ?? []) {
    if (!NAME.test(name)) throw new CliError(`--pass-env ${JSON.stringify(name)}: not a variable name`, ExitCode.usage);
    const value = env[name];
    if (value === undefined) throw new CliError(`--pass-env ${name}: ${name} is not set in this environment`, ExitCode.usage);
    out[name] = value;
  }
  for (const pair of flags.env ?? []) {
    const eq = pair.indexOf("=");
    const name = eq > 0 ? pair.slice(0, eq) : "";
    if (!NAME.test(name)) throw new CliError(`--env ${JSON.stringify(pair)}: expected NAME=value`, ExitCode.usage);
    out[name] = pair.slice(eq + 1);
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Settings (by variable name) set here: in the environment or a settings file, not left at their default. */
export function settingsSetHere(config: Config = loadConfig()): Set<string> {
  return new Set(Object.entries(ENV_VARS).filter(([, key]) => config.sources[key] !== undefined).map(([name]) => name));
}

/** The value of a setting set here, if it is. */
export function carriedValue<K extends keyof typeof ENV_VARS>(name: K, config: Config = loadConfig()): Config[(typeof ENV_VARS)[K]] | undefined {
  return config.sources[ENV_VARS[name]] !== undefined ? config[ENV_VARS[name]] : undefined;
}

export interface SettingDifference {
  name: string;
  here: unknown;
  server: unknown;
}

/**
 * Settings set here that the running server has otherwise (the ones this command does not carry).
 * The server is asked for its settings only when there is something to compare: a caller that
 * set nothing beyond what the request carries costs no round trip.
 */
export async function settingDifferences(client: ExecutorClient, command: CallerCommand, config: Config = loadConfig()): Promise<SettingDifference[]> {
  const carried = new Set<string>([...CONNECTION, ...CARRIED[command]]);
  const compared = [...settingsSetHere(config)].filter((name) => !carried.has(name));
  if (compared.length === 0) return [];
  const server = await client.settings().catch(() => undefined);
  if (!server) return []; // an older server without `settings`: nothing to compare
  const out: SettingDifference[] = [];
  for (const name of compared) {
    const value = config[ENV_VARS[name as keyof typeof ENV_VARS]];
    const here = name === "REDIS_URL" && typeof value === "string" ? redactUrl(value) : value;
    const there = server.settings[name];
    if (JSON.stringify(here ?? null) !== JSON.stringify(there ?? null)) out.push({ name, here: here ?? null, server: there ?? null });
  }
  return out;
}

/** Says on stderr which settings set here the running server does not use (never silently dropped). */
export async function warnSettingDifferences(client: ExecutorClient, command: CallerCommand, url?: string, config: Config = loadConfig()): Promise<void> {
  const diff = await settingDifferences(client, command, config);
  if (diff.length === 0) return;
  const list = diff.map((d) => `${d.name}=${format(d.here)} (server: ${format(d.server)})`).join(", ");
  warn(`the server ${url ? `at ${url} ` : ""}runs with its own settings, not these from here: ${list}. Restart the server with them, or stop it (cc-executor server stop) to run in-process with this environment.`);
}

const format = (v: unknown) => (v === null || v === undefined ? "unset" : Array.isArray(v) ? v.join(",") : String(v));
