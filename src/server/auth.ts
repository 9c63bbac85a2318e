import { randomBytes, timingSafeEqual, createHash } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { dirname } from "node:path";
import { homeSettingsFile } from "../config-sources.js";
import { statePaths } from "../paths.js";
import { hostName, isLoopbackHost } from "../security/addresses.js";

export { hostName, isLoopbackHost };

/**
 * Returns the token clients must present: the configured one (CC_EXECUTOR_TOKEN from the
 * environment or the user's config.env) when there is one, else the token file in the state
 * directory, created (mode 0600) with 32 random bytes on first start. `created` says which.
 */
export function ensureToken(tokenFile: string, configured?: string): { token: string; created: boolean } {
  if (configured) return { token: configured, created: false };
  try {
    const existing = readFileSync(tokenFile, "utf8").trim();
    if (existing.length >= 16) {
      // Tighten permissions if someone loosened them; the token is a password.
      if ((statSync(tokenFile).mode & 0o077) !== 0) chmodSync(tokenFile, 0o600);
      return { token: existing, created: false };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const token = randomBytes(32).toString("base64url");
  mkdirSync(dirname(tokenFile), { recursive: true, mode: 0o700 });
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  chmodSync(tokenFile, 0o600);
  return { token, created: true };
}

/**
 * The token a client on this machine holds (the CLI, the TS client), in the server's order:
 * CC_EXECUTOR_TOKEN in the environment, then in <home>/config.env, then the token file.
 */
export function readLocalToken(home: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CC_EXECUTOR_TOKEN) return env.CC_EXECUTOR_TOKEN;
  try {
    const configured = homeSettingsFile(home)?.values.CC_EXECUTOR_TOKEN;
    if (configured) return configured;
  } catch {
    // an unreadable config.env: the token file may still do
  }
  try {
    return readFileSync(statePaths(home).tokenFile, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Token from `Authorization: Bearer <t>` or, for browsers that cannot set headers, `?token=<t>`. */
export function tokenFromRequest(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1] : undefined;
  }
  const url = new URL(req.url ?? "/", "http://localhost");
  return url.searchParams.get("token") ?? undefined;
}

/** Constant-time comparison (hashing first makes the lengths equal, so length leaks nothing either). */
export function tokensEqual(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Without a token a web page could reach a loopback server through DNS rebinding (its Origin then
 * matches the Host it made up): with auth off, only requests naming a loopback Host are served.
 */
export function hasLoopbackHost(req: IncomingMessage): boolean {
  return isLoopbackHost(hostName(req.headers.host));
}
