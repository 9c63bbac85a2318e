import type { IncomingMessage } from "node:http";
import type { Config } from "../config.js";
import { PEER_UID_SUPPORTED, peerUid } from "../security/peer-uid.js";
import { hasLoopbackHost, isLoopbackHost, tokenFromRequest, tokensEqual } from "./auth.js";
import { isOriginAllowed } from "./origin.js";

/** Why an upgrade was let in (for the log), or the HTTP refusal. */
export type UpgradeDecision =
  | { allow: true; by: "token" | "no-auth" | "peer-uid" }
  | { allow: false; status: 401 | 403; message: string; log: string };

/**
 * Who may open a WebSocket:
 * - a browser page only from the server's own origin or CC_EXECUTOR_ALLOWED_ORIGINS (403 otherwise);
 * - with auth off, only requests naming a loopback Host (a DNS-rebinding page names its own);
 * - with a token: only the right one (401);
 * - without one (peer auth, Linux): a loopback connection from a socket owned by this server's own
 *   user that carries no Origin and no Sec-Fetch-* header, i.e. not a browser. Browsers always
 *   send Origin on WebSocket upgrades, so a page still needs the token.
 */
export function decideUpgrade(req: IncomingMessage, config: Config, token: string | undefined): UpgradeDecision {
  if (!isOriginAllowed(req, config.allowedOrigins)) {
    return { allow: false, status: 403, message: "origin not allowed", log: "refused WebSocket upgrade from a foreign origin" };
  }
  if (token === undefined) {
    if (hasLoopbackHost(req)) return { allow: true, by: "no-auth" };
    return { allow: false, status: 403, message: "host not allowed: with --no-auth only loopback Host names (127.0.0.1, localhost, [::1]) are accepted", log: "refused WebSocket upgrade with a non-loopback Host while auth is off" };
  }
  const given = tokenFromRequest(req);
  if (given !== undefined || req.headers.authorization !== undefined) {
    if (tokensEqual(given, token)) return { allow: true, by: "token" };
    return { allow: false, status: 401, message: "invalid token: send Authorization: Bearer <token> (the token is in the state directory's token file)", log: "refused WebSocket upgrade with a wrong token" };
  }
  if (config.peerAuth && isSameUserLoopbackPeer(req)) return { allow: true, by: "peer-uid" };
  return { allow: false, status: 401, message: "missing token: send Authorization: Bearer <token> (the token is in the state directory's token file)", log: "refused WebSocket upgrade without a token" };
}

/** Not a browser, over loopback, from a socket of the uid this server runs as. */
export function isSameUserLoopbackPeer(req: IncomingMessage): boolean {
  if (!PEER_UID_SUPPORTED || process.geteuid === undefined) return false;
  if (req.headers.origin !== undefined || req.headers["sec-websocket-origin"] !== undefined) return false;
  if (Object.keys(req.headers).some((h) => h.startsWith("sec-fetch-"))) return false;
  if (!hasLoopbackHost(req)) return false;
  const { remoteAddress, remotePort, localAddress, localPort } = req.socket;
  if (!remoteAddress || !remotePort || !localAddress || !localPort || !isLoopbackHost(remoteAddress) || !isLoopbackHost(localAddress)) return false;
  return peerUid({ address: remoteAddress, port: remotePort }, { address: localAddress, port: localPort }) === process.geteuid();
}
