import type { IncomingMessage } from "node:http";

/**
 * Cross-site WebSocket hijacking guard. Browsers always send Origin; non-browser clients usually
 * do not. An upgrade is allowed when it has no Origin, when the Origin is the server's own
 * (same host and port as the Host header), or when it is listed in `allowed`.
 */
export function isOriginAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return false;
  const host = req.headers.host;
  return host !== undefined && parsed.host.toLowerCase() === host.toLowerCase();
}
