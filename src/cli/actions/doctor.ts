import { execFile } from "node:child_process";
import { existsSync, mkdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { checkTrust, PROJECT_HOOKS_FILE } from "../../hooks/index.js";
import { promisify } from "node:util";
import { loadConfig, type Config } from "../../config.js";
import { statePaths } from "../../paths.js";
import { findExecutable, resolveShell } from "../../process/index.js";
import { openGroupRegistry } from "../../doors/index.js";
import { runsUsage, scanRunFolders } from "../../runs/index.js";
import { openStore, storeOptionsFrom } from "../../store/index.js";
import { formatAge, formatBytes } from "../../units.js";
import { ExitCode } from "../exit-codes.js";
import { printJson, style } from "../output.js";
import { inspectStateDir } from "../../security/state-dir.js";
import { PEER_UID_SUPPORTED } from "../../security/peer-uid.js";
import { probeServer } from "../server-locate.js";
import { checkServerInUse } from "../doctor-server.js";
import { redactUrl } from "../../redact-url.js";

const run = promisify(execFile);

export type CheckStatus = "ok" | "warn" | "fail";
export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  hint?: string;
}

async function checkNode(): Promise<Check> {
  const [major, minor] = process.versions.node.split(".").map(Number) as [number, number];
  const ok = major > 20 || (major === 20 && minor >= 19);
  return { name: "node", status: ok ? "ok" : "fail", detail: `Node.js ${process.versions.node}`, hint: ok ? undefined : "cc-executor needs Node.js >= 20.19" };
}

async function checkClaude(env: NodeJS.ProcessEnv): Promise<Check[]> {
  const configured = env.CLAUDE_BIN;
  const bin = configured ? findExecutable(configured) : findExecutable("claude", env.PATH);
  if (!bin) {
    return [
      {
        name: "claude",
        status: "warn",
        detail: configured ? `CLAUDE_BIN=${configured} is not an executable file` : "`claude` is not on PATH and CLAUDE_BIN is not set",
        hint: "install Claude Code (npm install -g @anthropic-ai/claude-code) or set CLAUDE_BIN; shell commands work without it",
      },
    ];
  }
  const checks: Check[] = [];
  try {
    const { stdout } = await run(bin, ["--version"], { timeout: 15_000, env });
    checks.push({ name: "claude", status: "ok", detail: `${bin}: ${stdout.trim()}` });
  } catch (err) {
    checks.push({ name: "claude", status: "fail", detail: `${bin} --version failed: ${(err as Error).message.split("\n")[0]}` });
    return checks;
  }
  const credentials = join(env.CLAUDE_CONFIG_DIR ?? join(homedir(), ".claude"), ".credentials.json");
  if (env.ANTHROPIC_API_KEY) checks.push({ name: "claude auth", status: "ok", detail: "ANTHROPIC_API_KEY is set (API billing unless stripped: see docs/claude.md)" });
  else if (existsSync(credentials)) checks.push({ name: "claude auth", status: "ok", detail: `logged in (credentials in ${credentials})` });
  else checks.push({ name: "claude auth", status: "warn", detail: "no ANTHROPIC_API_KEY and no stored login found", hint: "run `claude` once and log in (Claude Max), or set ANTHROPIC_API_KEY" });
  return checks;
}

function checkShell(config: Config): Check {
  const shell = resolveShell(config.shell);
  const wanted = config.shell === "default" ? "zsh" : config.shell;
  const status: CheckStatus = shell.name === wanted || (config.shell === "default" && shell.name !== "sh") ? "ok" : "warn";
  return { name: "shell", status, detail: `commands run with ${shell.path} (CC_EXECUTOR_SHELL=${config.shell})`, hint: status === "warn" ? `${wanted} is not installed; falling back to ${shell.name}` : undefined };
}

function checkStateDir(config: Config): Check[] {
  const paths = statePaths(config.home);
  const checks: Check[] = [];
  try {
    mkdirSync(paths.home, { recursive: true, mode: 0o700 });
    const probe = join(paths.home, `.doctor-${process.pid}`);
    writeFileSync(probe, "ok");
    unlinkSync(probe);
    checks.push({ name: "state dir", status: "ok", detail: `${paths.home} is writable` });
  } catch (err) {
    checks.push({ name: "state dir", status: "fail", detail: `${paths.home} is not writable: ${(err as Error).message}`, hint: "set CC_EXECUTOR_HOME to a writable directory" });
  }
  if (existsSync(paths.tokenFile)) {
    const mode = statSync(paths.tokenFile).mode & 0o777;
    checks.push(
      mode & 0o077
        ? { name: "token file", status: "fail", detail: `${paths.tokenFile} has mode ${mode.toString(8)}`, hint: `chmod 600 ${paths.tokenFile} (the server also fixes it on start)` }
        : { name: "token file", status: "ok", detail: `${paths.tokenFile} mode 600` },
    );
  } else checks.push({ name: "token file", status: "ok", detail: "not created yet (the first server start creates it, mode 600)" });
  const problems = inspectStateDir(paths.home);
  checks.push(
    problems.length === 0
      ? { name: "permissions", status: "ok", detail: `${paths.home} is 700 and its entries are private to you` }
      : { name: "permissions", status: "fail", detail: problems.map((p) => `${p.path} ${p.problem}`).join("; "), hint: `${problems.map((p) => p.fix).join("; ")} (a server start tightens modes, not owners)` },
  );
  return checks;
}

/** What contains executions here: cgroups (Linux, writable cgroup v2) or process groups, and why. */
export function checkContainment(config: Config): Check {
  const info = openGroupRegistry(config).containment();
  if (info.kind === "cgroup") {
    const detail = `each execution in its own cgroup (${info.dir}): cancel, timeout and crash reaping also kill processes that left the group (setsid)`;
    if (info.limits_unavailable) return { name: "containment", status: "warn", detail, hint: `configured limits not applied: ${info.limits_unavailable}` };
    const limits = Object.entries(info.limits).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`);
    // Not a problem, a cost: without favordynmods each cgroup join waits for an RCU grace period.
    const hint = info.favordynmods
      ? undefined
      : `${info.mount_point} is mounted without favordynmods: each execution's move into its cgroup waits for the kernel (about 1-2 ms); on Linux >= 6.0 \`mount -o remount,favordynmods ${info.mount_point}\` makes it cheap, or CC_EXECUTOR_CONTAINMENT=process-group turns cgroups off`;
    return { name: "containment", status: "ok", detail: limits.length ? `${detail}; limits ${limits.join(", ")}` : detail, hint };
  }
  const chosen = config.containment === "process-group";
  return {
    name: "containment",
    status: chosen || process.platform !== "linux" ? "ok" : "warn",
    detail: `process groups (${info.reason}): a process that calls setsid escapes cancel and timeout`,
    hint: chosen || process.platform !== "linux" ? undefined : "cgroup containment needs a writable cgroup v2 hierarchy: run as root, or in a delegated systemd subtree (e.g. systemd-run --user -p Delegate=yes …)",
  };
}

function checkProjectHooks(config: Config, cwd: string): Check | undefined {
  const file = resolve(cwd, PROJECT_HOOKS_FILE);
  if (!existsSync(file)) return undefined;
  const trust = checkTrust(config.home, file);
  return trust.trusted
    ? { name: "project hooks", status: "ok", detail: `${file} is trusted` }
    : { name: "project hooks", status: "warn", detail: trust.message, hint: `cc-executor hooks trust ${file}` };
}

function checkPeerAuth(config: Config): Check {
  if (!config.peerAuth) return { name: "peer auth", status: "ok", detail: "off: every client needs the token" };
  if (!PEER_UID_SUPPORTED) return { name: "peer auth", status: "warn", detail: `unavailable on ${process.platform} (no /proc/net/tcp): every client needs the token`, hint: "clients that cannot send a token need --no-auth here (loopback only)" };
  return { name: "peer auth", status: "ok", detail: `on: loopback clients of uid ${process.geteuid?.()} without an Origin header connect without the token; browsers and other users need it (CC_EXECUTOR_PEER_AUTH=false to refuse)` };
}

async function checkPort(config: Config, probe: Awaited<ReturnType<typeof probeServer>>): Promise<Check> {
  if (probe.state === "running") return { name: "server", status: "ok", detail: `cc-executor ${probe.health.version} is running on port ${config.port} (pid ${probe.health.pid})` };
  if (probe.state === "foreign") return { name: "server", status: "fail", detail: `something answers on port ${config.port} that is not the server of ${config.home}: ${probe.detail}`, hint: "clients will not send it the token; find it with: ss -ltnp" };
  const free = await new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(config.port, config.host, () => srv.close(() => resolve(true)));
  });
  return free
    ? { name: "server", status: "ok", detail: `not running; port ${config.port} on ${config.host} is free` }
    : { name: "server", status: "fail", detail: `port ${config.port} on ${config.host} is taken by another program`, hint: "choose another port with CC_EXECUTOR_PORT or --port" };
}

async function checkRedis(config: Config): Promise<Check> {
  if (!config.redisUrl) return { name: "redis", status: "ok", detail: "not configured (history in embedded SQLite)" };
  const { Redis } = await import("ioredis");
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null, enableOfflineQueue: false });
  let lastError: Error | undefined;
  redis.on("error", (err: Error) => (lastError = err));
  try {
    await redis.connect();
    const pong = await redis.ping();
    return { name: "redis", status: "ok", detail: `${redactUrl(config.redisUrl)} answers ${pong}` };
  } catch (err) {
    return { name: "redis", status: "fail", detail: `${redactUrl(config.redisUrl)} is not reachable: ${(lastError ?? (err as Error)).message}`, hint: "start redis-server or unset REDIS_URL to use SQLite" };
  } finally {
    redis.disconnect();
  }
}

function checkSqlite(): Promise<Check> {
  return import("better-sqlite3")
    .then(({ default: Database }) => {
      new Database(":memory:").prepare("select 1").get();
      return { name: "sqlite", status: "ok" as const, detail: "better-sqlite3 native binding loads" };
    })
    .catch((err: Error) => ({ name: "sqlite", status: "fail" as const, detail: `better-sqlite3 does not load: ${err.message.split("\n")[0]}`, hint: "reinstall with a C++ toolchain: npm rebuild better-sqlite3" }));
}

/** What the runs folder and the history hold against their limits (the server prunes to them every 10 minutes). */
async function checkStorage(config: Config): Promise<Check[]> {
  const runs = runsUsage(config.home, await scanRunFolders(config.home));
  const age = (s: number) => (s > 0 ? formatAge(s) : "no age limit");
  const cap = config.runsMaxBytes > 0 ? `cap ${formatBytes(config.runsMaxBytes)}` : "no size cap";
  const over = config.runsMaxBytes > 0 && runs.bytes > config.runsMaxBytes;
  const checks: Check[] = [
    {
      name: "runs",
      status: over ? "warn" : "ok",
      detail: `${formatBytes(runs.bytes)} in ${runs.folders} run folder(s)${runs.oldest_write ? `, oldest written ${new Date(runs.oldest_write).toISOString().slice(0, 10)}` : ""} (${cap}, ${age(config.runsMaxAgeS)}: CC_EXECUTOR_RUNS_MAX_SIZE / _MAX_AGE)`,
      hint: over ? "a running server prunes it within 10 minutes; or run `cc-executor cleanup`" : undefined,
    },
  ];
  const sqliteMissing = !config.redisUrl && !existsSync(statePaths(config.home).sqliteFile);
  if (sqliteMissing) return [...checks, { name: "history", status: "ok", detail: "no history yet" }];
  try {
    const store = await openStore({ ...storeOptionsFrom(config), redis: { prefix: config.redisPrefix, waitMs: 1000 } });
    try {
      const health = await store.health();
      if (health.status !== "ok") return [...checks, { name: "history", status: "warn", detail: `cannot read the history store: ${health.detail ?? health.status}` }];
      const h = await store.usage();
      const rowsOver = config.historyMaxRows > 0 && h.executions > config.historyMaxRows;
      checks.push({
        name: "history",
        status: rowsOver ? "warn" : "ok",
        detail: `${h.executions} execution(s), ${h.task_list_runs} task-list run(s)${h.oldest_started_at ? ` since ${new Date(h.oldest_started_at).toISOString().slice(0, 10)}` : ""}${h.bytes !== undefined ? `, ${formatBytes(h.bytes)}` : ""} (${config.historyMaxRows > 0 ? `cap ${config.historyMaxRows} rows` : "no row cap"}, ${age(config.historyMaxAgeS)}: CC_EXECUTOR_HISTORY_MAX_ROWS / _MAX_AGE)`,
        hint: rowsOver ? "a running server prunes it within 10 minutes; or run `cc-executor history prune`" : undefined,
      });
    } finally {
      await store.close();
    }
  } catch (err) {
    checks.push({ name: "history", status: "warn", detail: `cannot read the history store: ${(err as Error).message}` });
  }
  return checks;
}

export async function runDoctor(config: Config, env: NodeJS.ProcessEnv = process.env): Promise<Check[]> {
  const probe = await probeServer(config, 1000);
  const port = await checkPort(config, probe);
  // A running server is the one requests go to: check it, not only this shell's environment.
  const server = probe.state === "running" ? await checkServerInUse(config, env) : [];
  return [await checkNode(), ...(await checkClaude(env)), checkShell(config), ...checkStateDir(config), ...(await checkStorage(config)), checkPeerAuth(config), ...[checkProjectHooks(config, process.cwd())].filter((c): c is Check => c !== undefined), checkContainment(config), port, ...server, await checkRedis(config), await checkSqlite()];
}

/** `cc-executor doctor`: every check, printed; exit 1 when one failed. */
export async function doctor(flags: { json?: boolean }): Promise<void> {
  const config = loadConfig();
  const checks = await runDoctor(config);
  const failed = checks.some((c) => c.status === "fail");
  if (flags.json) printJson({ ok: !failed, checks });
  else {
    // The report is the command's data: stdout (`doctor | less`, `doctor > report.txt`).
    const out = process.stdout;
    const mark = { ok: style("ok  ", "green", out), warn: style("warn", "yellow", out), fail: style("FAIL", "red", out) };
    for (const c of checks) {
      out.write(`${mark[c.status]}  ${c.name.padEnd(15)} ${c.detail}\n`);
      if (c.hint) out.write(`      ${"".padEnd(15)} ${style(`→ ${c.hint}`, "dim", out)}\n`);
    }
  }
  if (failed) process.exitCode = ExitCode.failure;
}
