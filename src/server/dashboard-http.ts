import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { statePaths } from "../paths.js";
import { Notifications } from "../protocol/index.js";
import { hasReplay, readReplay } from "../runs/index.js";
import { formatBytes } from "../units.js";
import { hasLoopbackHost, tokenFromRequest, tokensEqual } from "./auth.js";
import type { ServerContext } from "./context.js";
import { monitorFor, taskHeader } from "./monitor.js";

/**
 * HTTP side of the dashboard: the page and its assets (no token: they hold no data), a token check
 * for the page's login, and the full output of an execution (token required).
 */

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".map": "application/json; charset=utf-8",
};

const here = dirname(fileURLToPath(import.meta.url));
/** dist/server -> dist/dashboard when installed; src/server -> dist/dashboard when run from source (tests, tsx). */
const CANDIDATES = [join(here, "..", "dashboard"), join(here, "..", "..", "dist", "dashboard")];

function assetsDir(): string | undefined {
  return CANDIDATES.find((dir) => existsSync(join(dir, "index.html")));
}

const SAFE_HOST = /^[\w.-]+(:\d+)?$|^\[[0-9a-fA-F:.]+\](:\d+)?$/;

/** Strict CSP: our own script and styles only, WebSocket/fetch to this server only, no framing. */
function contentSecurityPolicy(req: IncomingMessage): string {
  const host = req.headers.host;
  // 'self' covers ws:// of the same host in current browsers; the explicit entries cover older ones.
  const ws = host && SAFE_HOST.test(host) ? ` ws://${host} wss://${host}` : "";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    `connect-src 'self'${ws}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

function authorized(req: IncomingMessage, token: string | undefined): boolean {
  return token === undefined ? hasLoopbackHost(req) : tokensEqual(tokenFromRequest(req), token);
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(text), "cache-control": "no-store", ...SECURITY_HEADERS });
  res.end(text);
}

async function serveAsset(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
  const dir = assetsDir();
  if (!dir) return plain(res, 503, "The dashboard is not built: run `npm run build` (it bundles the page into dist/dashboard).\n");
  const type = TYPES[extname(name)];
  if (!/^[\w-]+(\.[\w-]+)*$/.test(name) || !type) return plain(res, 404, "not found\n");
  let body: Buffer;
  try {
    body = await readFile(join(dir, name));
  } catch {
    return plain(res, 404, "not found\n");
  }
  const headers: Record<string, string | number> = { "content-type": type, "content-length": body.length, "cache-control": "no-cache", ...SECURITY_HEADERS };
  if (name === "index.html") headers["content-security-policy"] = contentSecurityPolicy(req);
  res.writeHead(200, headers);
  res.end(req.method === "HEAD" ? undefined : body);
}

/** Resolves when the response can take more, or when its client has gone. */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/** The run folder of an execution when it holds a replay file (ids are checked: they become a path). */
function replayDir(ctx: ServerContext, id: string): string | undefined {
  if (!/^[\w-]{1,200}$/.test(id)) return undefined;
  const dir = join(statePaths(ctx.config.home).runsDir, id);
  return hasReplay(dir) ? dir : undefined;
}

/**
 * The output from the run folder's replay file when there is one (streamed at the reader's pace;
 * a part dropped by the replay file's cap is marked where it was), else the monitor's kept tail.
 */
async function serveOutput(ctx: ServerContext, req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
  const dir = replayDir(ctx, id);
  const tail = dir ? undefined : monitorFor(ctx).tailText(id);
  if (!dir && !tail) return plain(res, 404, `no output is kept for execution ${id}\n`);
  res.writeHead(200, {
    "content-type": "text/plain; charset=utf-8",
    "content-disposition": `attachment; filename="${id}.log"`,
    "cache-control": "no-store",
    ...SECURITY_HEADERS,
  });
  if (req.method === "HEAD") return void res.end();
  if (tail) {
    if (tail.truncated) res.write(`[cc-executor: older output was not kept; this is the last ${Math.round(tail.text.length / 1024)} KiB]\n`);
    return void res.end(tail.text);
  }
  try {
    for await (const item of readReplay(dir!)) {
      if (res.destroyed) break;
      let text = "";
      if (item.kind === "gap") {
        const size = item.missedBytes !== undefined ? ` (${formatBytes(item.missedBytes)})` : "";
        text = `\n[cc-executor: ${item.missedEvents} notification(s)${size} here were not kept: the replay file is capped by CC_EXECUTOR_REPLAY_FILE_MAX]\n`;
      } else if (item.method === Notifications.processOutput) text = String(item.params?.data ?? "");
      else if (item.method === Notifications.taskStarted && item.params) text = taskHeader(item.params);
      if (text && !res.write(text)) await drainedOrClosed(res);
    }
  } finally {
    res.end();
  }
}

/**
 * Answers the dashboard's HTTP paths; returns false for any other request (the caller answers it).
 *   GET /, /index.html, /assets/<file>   the page (no token)
 *   GET /auth/check                      204 with a valid token, else 401 (the page's login)
 *   GET /executions/<id>/output          the output as text/plain (token: Authorization: Bearer or ?token=)
 */
export function handleDashboardHttp(req: IncomingMessage, res: ServerResponse, ctx: ServerContext, token: string | undefined): boolean {
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  const fail = (err: unknown) => {
    ctx.logger.warn({ err: (err as Error).message, path }, "dashboard request failed");
    if (!res.headersSent) plain(res, 500, "internal error\n");
    else res.destroy();
  };
  if (path === "/" || path === "/index.html") {
    serveAsset(req, res, "index.html").catch(fail);
    return true;
  }
  if (path.startsWith("/assets/")) {
    serveAsset(req, res, path.slice("/assets/".length)).catch(fail);
    return true;
  }
  if (path === "/auth/check") {
    if (authorized(req, token)) {
      res.writeHead(204, { "cache-control": "no-store", ...SECURITY_HEADERS });
      res.end();
    } else plain(res, 401, "missing or invalid token\n");
    return true;
  }
  const output = /^\/executions\/([\w-]{1,200})\/output$/.exec(path);
  if (output) {
    if (!authorized(req, token)) plain(res, 401, "missing or invalid token: send Authorization: Bearer <token>\n");
    else serveOutput(ctx, req, res, output[1]!).catch(fail);
    return true;
  }
  return false;
}
