import { ExecutorClient, defaultServerUrl, type ServerSettings } from "../client/index.js";
import type { Config } from "../config.js";
import { findExecutable } from "../process/index.js";
import { settingDifferences } from "./caller-env.js";
import type { Check } from "./actions/doctor.js";

/**
 * `doctor` on the server that requests will go to (not only this shell): can this CLI use it
 * (token), where does it find claude, does it keep its runs where this CLI reads them, and which
 * settings set here it does not use.
 */
export async function checkServerInUse(config: Config, env: NodeJS.ProcessEnv = process.env): Promise<Check[]> {
  const url = defaultServerUrl({ CC_EXECUTOR_HOST: config.host, CC_EXECUTOR_PORT: String(config.port) });
  let client: ExecutorClient;
  try {
    client = await ExecutorClient.connect({ url, token: config.token, home: config.home, connectTimeoutMs: 3000, reconnect: false });
  } catch (err) {
    return [{ name: "server use", status: "fail", detail: `cannot use the server at ${url}: ${(err as Error).message}`, hint: "a token mismatch means the server uses another state directory (CC_EXECUTOR_HOME) or CC_EXECUTOR_TOKEN" }];
  }
  try {
    let server: ServerSettings;
    try {
      server = await client.settings();
    } catch {
      return [{ name: "server use", status: "warn", detail: `the server at ${url} does not answer \`settings\` (an older version): its claude and settings cannot be checked` }];
    }
    const checks: Check[] = [{ name: "server use", status: "ok", detail: `requests go to ${url} (cc-executor ${server.version}, pid ${server.pid})` }];
    const carried = env.CLAUDE_BIN?.trim();
    if (carried) {
      const own = `the server's own: ${"path" in server.claude ? server.claude.path : "none"}`;
      checks.push(
        findExecutable(carried)
          ? { name: "server claude", status: "ok", detail: `claude work from here carries CLAUDE_BIN=${carried} (${own})` }
          : { name: "server claude", status: "fail", detail: `claude work from here carries CLAUDE_BIN=${carried}, which is not an executable file (${own})`, hint: "fix or unset CLAUDE_BIN here" },
      );
    }
    else if ("path" in server.claude) checks.push({ name: "server claude", status: "ok", detail: `the server runs claude from ${server.claude.path} (${server.claude.source === "CLAUDE_BIN" ? "its CLAUDE_BIN" : "its PATH"})` });
    else checks.push({ name: "server claude", status: "fail", detail: `the server finds no claude: ${server.claude.error}`, hint: "set CLAUDE_BIN here (requests carry it), or restart the server with CLAUDE_BIN set or claude on its PATH" });
    if (server.home !== config.home) {
      checks.push({ name: "server home", status: "warn", detail: `the server keeps its runs and token in ${server.home}; this CLI reads ${config.home} (logs, history, tasks list)`, hint: `set CC_EXECUTOR_HOME=${server.home} here` });
    }
    const diff = await settingDifferences(client, "doctor");
    if (diff.length > 0) {
      checks.push({ name: "server settings", status: "warn", detail: `set here but not used by the running server: ${diff.map((d) => `${d.name}=${String(d.here)} (server: ${String(d.server)})`).join(", ")}`, hint: "restart the server with them, or stop it to run in-process with this environment" });
    }
    return checks;
  } finally {
    await client.close();
  }
}
