import { randomBytes, timingSafeEqual, createHash } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { dirname } from "node:path";

/**
 * Returns the token clients must present: CC_EXECUTOR_TOKEN when configured, else the token file
 * in the state directory, created (mode 0600) with 32 random bytes on first start.
 */
export function ensureToken(tokenFile: string, configured?: string): string {
  if (configured) return configured;
  try {
    const existing = readFileSync(tokenFile, "utf8").trim();
    if (existing.length >= 16) {
      // Tighten permissions if someone loosened them; the token is a password.
      if ((statSync(tokenFile).mode & 0o077) !== 0) chmodSync(tokenFile, 0o600);
      return existing;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const token = randomBytes(32).toString("base64url");
  mkdirSync(dirname(tokenFile), { recursive: true, mode: 0o700 });
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  chmodSync(tokenFile, 0o600);
  return token;
}

/** Reads the token a client may hold locally (for the CLI and the TS client). */
export function readLocalToken(tokenFile: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CC_EXECUTOR_TOKEN) return env.CC_EXECUTOR_TOKEN;
  try {
    return readFileSync(tokenFile, "utf8").trim() || undefined;
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

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h) || h === "::ffff:127.0.0.1";
}

/** The Host header without its port ("[::1]:8003" -> "::1"). */
export function hostName(host: string | undefined): string {
  if (!host) return "";
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(host);
  return bracketed ? bracketed[1]! : host.replace(/:\d*$/, "");
}

/**
 * Without a token a web page could reach a loopback server through DNS rebinding (its Origin then
 * matches the Host it made up): with auth off, only requests naming a loopback Host are served.
 */
export function hasLoopbackHost(req: IncomingMessage): boolean {
  return isLoopbackHost(hostName(req.headers.host));
}
