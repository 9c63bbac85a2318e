import { homeSettingsFile, mergeSettings, projectSettingsFiles, SettingsFileError, warnOnStderr } from "./config-sources.js";
import { defaultHome } from "./paths.js";
import { age, bool, bytes, int, oneOf, parseFields, positiveSeconds, stringList, text, url, withDefault, type Field } from "./config-fields.js";

export { PROJECT_CONFIG_FILES, HOME_CONFIG_FILE, USER_ONLY_VARS } from "./config-sources.js";

/**
 * The one place that turns flags, environment variables, the user's config.env in the state
 * directory and the project's settings files into a validated, typed Config. Precedence: flags >
 * environment > project files > the user's config.env > defaults; security settings never come
 * from project files (config-sources.ts).
 */
export interface Config {
  host: string;
  port: number;
  shell: "zsh" | "bash" | "sh" | "default";
  home: string;
  /** Fixed token from CC_EXECUTOR_TOKEN; otherwise the token file in `home` is used (created on first start). */
  token: string | undefined;
  auth: boolean;
  /** Seconds without output before a process is killed. */
  streamTimeoutS: number;
  /** Bytes of each stream's tail kept for results. */
  maxBufferSize: number;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  maxSessions: number;
  /** Seconds a connection may stay without any message or running process before it is closed. */
  sessionIdleTimeoutS: number;
  /** Largest WebSocket message accepted, in bytes. */
  maxMessageSize: number;
  maxProcesses: number;
  /** Milliseconds between SIGTERM and SIGKILL. */
  killGraceMs: number;
  /** Extra origins allowed to open a WebSocket besides the server's own. */
  allowedOrigins: string[];
  redisUrl: string | undefined;
  /** Every history key in Redis starts with this (several installs can share one Redis). */
  redisPrefix: string;
  /** Distributed mode: the BullMQ queue that submitters and workers share (keys under bull:<name>:). */
  queueName: string;
  /** Seconds a resumable execution keeps running after its client disconnected. */
  resumeGraceS: number;
  /** Bytes of recent notifications per resumable execution kept in memory for replay. */
  replayBufferBytes: number;
  /** Largest replay file of one resumable execution (its head and its latest output are kept). */
  replayFileMaxBytes: number;
  /** Run folders not written to for this long are pruned (0: kept however old). */
  runsMaxAgeS: number;
  /** The runs folder is pruned, oldest first, down to this many bytes (0: no cap). */
  runsMaxBytes: number;
  /** History rows older than this are pruned (0: kept however old). */
  historyMaxAgeS: number;
  /** History is pruned, oldest first, down to this many executions (0: no cap). */
  historyMaxRows: number;
  /** A client with more than this many bytes queued towards it is disconnected (close 4008). */
  maxClientQueueBytes: number;
  /** claude tasks: ANTHROPIC_API_KEY passed on ("inherit") or removed ("strip", the Claude login is used). */
  claudeApiKey: "inherit" | "strip";
  /** claude tasks: wait for a usage limit to reset instead of failing. */
  waitOnLimit: boolean;
  /** claude tasks: a retry after real work continues the failed attempt's Claude session (--resume) instead of starting afresh. */
  resumeSessions: boolean;
  /** claude tasks: attempts in all (retries of 429/529, UUID misses, crashes). */
  claudeMaxAttempts: number;
  /** claude tasks: first backoff delay for 429/529, milliseconds. */
  claudeRetryDelayMs: number;
  /** claude tasks: the CLI's own retries of a failed API call (set as CLAUDE_CODE_MAX_RETRIES). */
  claudeApiRetries: number;
  /** claude tasks without a timeout and without history: seconds per attempt (unset: 300/900/1800 by prompt complexity). */
  claudeTimeoutS: number | undefined;
  /** Commands and direct tasks without a timeout and without history: seconds. */
  commandTimeoutS: number;
  /** Upper bound of every estimated timeout, seconds. */
  maxTimeoutS: number;
  /** Estimate a timeout from history when a request gives none (false: no timeout, as the original). */
  estimateTimeouts: boolean;
  /** claude tasks: permission mode passed to claude (default: the CLI's own default). */
  permissionMode: "default" | "acceptEdits" | "bypassPermissions" | "plan" | "dontAsk" | "auto" | undefined;
  /** Command policy: regular expressions every simple command must match (empty: all allowed). */
  allowCommands: string[];
  /** Command policy: regular expressions no simple command may match. */
  denyCommands: string[];
  /** How executions are contained: "auto" (own cgroup v2 where writable, else process group) or "process-group". */
  containment: "auto" | "process-group";
  /** With cgroups: the most processes one execution may have at once (pids.max). */
  pidsMax: number | undefined;
  /** With cgroups: the most memory one execution may use, bytes (memory.max). */
  memoryMax: number | undefined;
  /** Linux: a loopback connection from a socket of the server's own user, without Origin, needs no token. */
  peerAuth: boolean;
  /** PEM certificate and key: serve https/wss. */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  /** Accept a non-loopback bind without TLS (the token then crosses the network in clear text). */
  allowPlaintext: boolean;
  /** Where each setting came from: "flag --port", "environment (CC_EXECUTOR_PORT)", a file's path; absent: the default. */
  sources: Partial<Record<keyof Config, string>>;
  /** Distributed mode: shared secret that signs queued jobs; workers refuse unsigned or altered ones. */
  queueSecret: string | undefined;
}

/** Env var -> Config key. Also the list of variables documented in the README. */
export const ENV_VARS = {
  CC_EXECUTOR_HOST: "host",
  CC_EXECUTOR_PORT: "port",
  CC_EXECUTOR_SHELL: "shell",
  CC_EXECUTOR_HOME: "home",
  CC_EXECUTOR_TOKEN: "token",
  CC_EXECUTOR_AUTH: "auth",
  STREAM_TIMEOUT: "streamTimeoutS",
  MAX_BUFFER_SIZE: "maxBufferSize",
  LOG_LEVEL: "logLevel",
  MAX_SESSIONS: "maxSessions",
  SESSION_TIMEOUT: "sessionIdleTimeoutS",
  CC_EXECUTOR_MAX_MESSAGE_SIZE: "maxMessageSize",
  CC_EXECUTOR_MAX_PROCESSES: "maxProcesses",
  CC_EXECUTOR_KILL_GRACE_MS: "killGraceMs",
  CC_EXECUTOR_ALLOWED_ORIGINS: "allowedOrigins",
  REDIS_URL: "redisUrl",
  CC_EXECUTOR_REDIS_PREFIX: "redisPrefix",
  CC_EXECUTOR_QUEUE: "queueName",
  CC_EXECUTOR_RESUME_GRACE: "resumeGraceS",
  CC_EXECUTOR_REPLAY_BUFFER: "replayBufferBytes",
  CC_EXECUTOR_REPLAY_FILE_MAX: "replayFileMaxBytes",
  CC_EXECUTOR_RUNS_MAX_AGE: "runsMaxAgeS",
  CC_EXECUTOR_RUNS_MAX_SIZE: "runsMaxBytes",
  CC_EXECUTOR_HISTORY_MAX_AGE: "historyMaxAgeS",
  CC_EXECUTOR_HISTORY_MAX_ROWS: "historyMaxRows",
  CC_EXECUTOR_MAX_CLIENT_QUEUE: "maxClientQueueBytes",
  CC_EXECUTOR_CLAUDE_API_KEY: "claudeApiKey",
  CC_EXECUTOR_WAIT_ON_LIMIT: "waitOnLimit",
  CC_EXECUTOR_RESUME_SESSIONS: "resumeSessions",
  CC_EXECUTOR_CLAUDE_MAX_ATTEMPTS: "claudeMaxAttempts",
  CC_EXECUTOR_CLAUDE_RETRY_DELAY_MS: "claudeRetryDelayMs",
  CC_EXECUTOR_CLAUDE_API_RETRIES: "claudeApiRetries",
  CC_EXECUTOR_CLAUDE_TIMEOUT: "claudeTimeoutS",
  CC_EXECUTOR_COMMAND_TIMEOUT: "commandTimeoutS",
  CC_EXECUTOR_MAX_TIMEOUT: "maxTimeoutS",
  CC_EXECUTOR_ESTIMATE_TIMEOUTS: "estimateTimeouts",
  CC_EXECUTOR_PERMISSION_MODE: "permissionMode",
  CC_EXECUTOR_ALLOW: "allowCommands",
  CC_EXECUTOR_DENY: "denyCommands",
  CC_EXECUTOR_CONTAINMENT: "containment",
  CC_EXECUTOR_PIDS_MAX: "pidsMax",
  CC_EXECUTOR_MEMORY_MAX: "memoryMax",
  CC_EXECUTOR_PEER_AUTH: "peerAuth",
  CC_EXECUTOR_TLS_CERT: "tlsCert",
  CC_EXECUTOR_TLS_KEY: "tlsKey",
  CC_EXECUTOR_ALLOW_PLAINTEXT: "allowPlaintext",
  CC_EXECUTOR_QUEUE_SECRET: "queueSecret",
} as const satisfies Record<string, keyof Config>;

type Settings = Omit<Config, "sources">;

/** Each setting's kind and default (config-fields.ts), in the order problems are reported. */
const FIELDS: { [K in keyof Settings]: Field<Settings[K]> } = {
  host: withDefault(text({ min: 1 }), "127.0.0.1"),
  port: withDefault(int(0, 65535), 8003),
  shell: withDefault(oneOf(["zsh", "bash", "sh", "default"]), "default"),
  home: text({ min: 1 }),
  token: text({ min: 16, message: "must be at least 16 characters" }),
  auth: withDefault(bool, true),
  streamTimeoutS: withDefault(positiveSeconds(), 600),
  maxBufferSize: withDefault(int(1024, 1024 ** 3), 8 * 1024 * 1024),
  logLevel: withDefault(oneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"]), "info"),
  maxSessions: withDefault(int(1, 100_000), 100),
  sessionIdleTimeoutS: withDefault(positiveSeconds(), 3600),
  maxMessageSize: withDefault(int(1024, 256 * 1024 * 1024), 1024 * 1024),
  maxProcesses: withDefault(int(1, 100_000), 100),
  killGraceMs: withDefault(int(0, 600_000), 3000),
  allowedOrigins: stringList,
  redisUrl: url,
  redisPrefix: withDefault(text({ min: 1, max: 100 }), "cc-executor:"),
  queueName: withDefault(text({ pattern: /^[\w.-]+$/, message: "may only contain letters, digits, _ . - (no colon)" }), "cc-executor"),
  resumeGraceS: withDefault(positiveSeconds(7 * 24 * 3600), 300),
  replayBufferBytes: withDefault(int(64 * 1024, 1024 ** 3), 8 * 1024 * 1024),
  replayFileMaxBytes: withDefault(bytes(256 * 1024, 1024 ** 4), 128 * 1024 ** 2),
  runsMaxAgeS: withDefault(age, 30 * 86_400),
  runsMaxBytes: withDefault(bytes(0, 1024 ** 5), 2 * 1024 ** 3),
  historyMaxAgeS: withDefault(age, 180 * 86_400),
  historyMaxRows: withDefault(int(0, 1_000_000_000), 100_000),
  maxClientQueueBytes: withDefault(bytes(64 * 1024, 1024 ** 4), 16 * 1024 ** 2),
  claudeApiKey: withDefault(oneOf(["inherit", "strip"]), "inherit"),
  waitOnLimit: withDefault(bool, false),
  resumeSessions: withDefault(bool, true),
  claudeMaxAttempts: withDefault(int(1, 20), 3),
  claudeRetryDelayMs: withDefault(int(0, 600_000), 5000),
  claudeApiRetries: withDefault(int(0, 20), 5),
  claudeTimeoutS: positiveSeconds(7 * 24 * 3600),
  commandTimeoutS: withDefault(positiveSeconds(7 * 24 * 3600), 600),
  maxTimeoutS: withDefault(positiveSeconds(7 * 24 * 3600), 3 * 3600),
  estimateTimeouts: withDefault(bool, true),
  permissionMode: oneOf(["default", "acceptEdits", "bypassPermissions", "plan", "dontAsk", "auto"]),
  allowCommands: stringList,
  denyCommands: stringList,
  containment: withDefault(oneOf(["auto", "process-group"]), "auto"),
  pidsMax: int(1, 4_194_304),
  memoryMax: bytes(4096, Number.MAX_SAFE_INTEGER),
  peerAuth: withDefault(bool, process.platform === "linux"),
  tlsCert: text({ min: 1 }),
  tlsKey: text({ min: 1 }),
  allowPlaintext: withDefault(bool, false),
  queueSecret: text({ min: 16, message: "must be at least 16 characters" }),
};

export type ConfigOverrides = Partial<{ [K in Exclude<keyof Config, "sources">]: Config[K] | string }>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export interface LoadConfigOptions {
  /** Flag values (the CLI's options). */
  overrides?: ConfigOverrides;
  /** The user's environment (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The project directory whose settings files are read (default: the working directory). */
  cwd?: string;
  /** Receives each warning, e.g. a project file setting a security setting (default: stderr, once per message). */
  warn?: (message: string) => void;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = stripEmpty(options.env ?? process.env);
  const flagName = (key: string) => `flag --${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  // The state directory comes only from a flag or the environment: it holds the user's own config.env.
  const flagHome = options.overrides?.home;
  const home = flagHome !== undefined ? String(flagHome) : defaultHome(env);
  let merged;
  try {
    merged = mergeSettings({ env, project: projectSettingsFiles(options.cwd ?? process.cwd()), home: homeSettingsFile(home) }, options.warn ?? warnOnStderr);
  } catch (err) {
    if (err instanceof SettingsFileError) throw new ConfigError(err.message);
    throw err;
  }
  const raw: Record<string, unknown> = {};
  const sourceOf: Record<string, string> = {};
  for (const [name, key] of Object.entries(ENV_VARS)) {
    if (merged.values[name] !== undefined) {
      raw[key] = merged.values[name];
      sourceOf[key] = merged.sources[name]!;
    }
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) {
      raw[key] = value;
      sourceOf[key] = flagName(key);
    }
  }
  raw.home = home;
  const parsed = parseFields<Settings>(FIELDS, raw);
  if (parsed.problems.length > 0) {
    const problems = parsed.problems.map((issue) => {
      const key = issue.key;
      const source = sourceOf[key] ?? key;
      const name = Object.entries(ENV_VARS).find(([, k]) => k === key)?.[0] ?? key;
      // "CC_EXECUTOR_PORT" for the environment, "--port" for a flag, "<file>: CC_EXECUTOR_PORT" for a file
      const where = source.startsWith("environment") ? name : source.startsWith("flag ") ? source.slice(5) : source.includes("/") ? `${source}: ${name}` : source;
      return `${where}=${JSON.stringify(raw[key])}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join("; ")}`);
  }
  return Object.freeze({ ...parsed.value, sources: Object.freeze(sourceOf) }) as Config;
}
function stripEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== "") out[k] = v;
  return out;
}
