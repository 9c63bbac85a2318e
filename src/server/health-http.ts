import type { IncomingMessage, ServerResponse } from "node:http";
import { CHALLENGE_PATH, isChallenge, proofOf, type ChallengeAnswer } from "../security/server-proof.js";
import { hasLoopbackHost, tokenFromRequest, tokensEqual } from "./auth.js";

/**
 * The server's own HTTP paths (the dashboard's are in dashboard-http.ts):
 *   GET /health, /healthz    without the token: only {status, service}; with it: the full document
 *   GET /auth/challenge      proof that this server holds the token and its launch nonce (server-proof.ts)
 */
export interface HealthHttpOptions {
  /** The token, or undefined with auth off (then the full document is served to loopback Host names, as the dashboard's data). */
  token: string | undefined;
  /** The per-launch nonce of the runtime file. */
  nonce: string;
  /** The port this server listens on (signed into the proofs). */
  port: () => number;
  health: () => Promise<{ status: string } & Record<string, unknown>>;
}

export function handleServerHttp(req: IncomingMessage, res: ServerResponse, options: HealthHttpOptions): void {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (req.method === "GET" && (url.pathname === "/health" || url.pathname === "/healthz")) {
    const full = options.token === undefined ? hasLoopbackHost(req) : tokensEqual(tokenFromRequest(req), options.token);
    void options.health().then(
      (doc) => sendJson(res, 200, full ? doc : { status: doc.status, service: "cc-executor" }),
      () => sendJson(res, 200, { status: "degraded", service: "cc-executor" }),
    );
    return;
  }
  if (req.method === "GET" && url.pathname === CHALLENGE_PATH) {
    const challenge = url.searchParams.get("challenge");
    if (!isChallenge(challenge)) return sendJson(res, 400, { error: "challenge must be 32 random bytes in base64url (43 characters)" });
    const port = options.port();
    const answer: ChallengeAnswer = { service: "cc-executor", port, auth: options.token !== undefined, launch_proof: proofOf(options.nonce, challenge, port) };
    if (options.token !== undefined) answer.token_proof = proofOf(options.token, challenge, port);
    return sendJson(res, 200, answer);
  }
  sendJson(res, 404, { error: "not found", hint: "WebSocket endpoint: /ws/mcp; health: /health" });
}

function sendJson(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
}
