import { $ } from "./dom.js";
import { showApp, showLogin } from "./login.js";
import { Rpc, RpcError } from "./rpc.js";
import { authHeaders, forgetToken, getToken } from "./token.js";

/**
 * The page's main connection: the token check, the WebSocket session, and reconnecting with a
 * growing delay (0.5 s up to 10 s) whenever it drops. Everything the page asks goes through call().
 */

export type Params = Record<string, unknown>;

export interface ConnectionHandlers {
  /** Every notification of the main session. */
  onNotification(method: string, params: Params): void;
  /** Each time a session is open (again): fetch state, watch again. */
  onConnected(): Promise<void>;
}

type ConnState = "connecting" | "connected" | "reconnecting" | "refused" | "offline";
const CONN_TEXT: Record<ConnState, string> = { connecting: "connecting…", connected: "● connected", reconnecting: "reconnecting…", refused: "refused", offline: "server unreachable" };

let handlers: ConnectionHandlers | undefined;
let rpc: Rpc | undefined;
let retryMs = 500;
let retryTimer: number | undefined;

export function startConnection(h: ConnectionHandlers): void {
  handlers = h;
  void connect();
}

export function isConnected(): boolean {
  return rpc !== undefined;
}

/** This page's session id on the server (empty while not connected). */
export function sessionId(): string {
  return rpc?.sessionId ?? "";
}

export async function call<T = Params>(method: string, params: Params = {}): Promise<T> {
  if (!rpc) throw new RpcError(-1, "not connected");
  return rpc.call<T>(method, params);
}

function setConn(state: ConnState): void {
  const el = $("#conn");
  el.dataset.state = state;
  el.textContent = CONN_TEXT[state];
}

function scheduleRetry(state: "reconnecting" | "offline"): void {
  setConn(state);
  window.clearTimeout(retryTimer);
  retryTimer = window.setTimeout(() => void connect(), retryMs);
  retryMs = Math.min(retryMs * 2, 10_000);
}

export async function connect(): Promise<void> {
  setConn(rpc ? "reconnecting" : "connecting");
  let check: Response;
  try {
    check = await fetch("/auth/check", { headers: authHeaders(), cache: "no-store" });
  } catch {
    return scheduleRetry("offline");
  }
  if (check.status === 401) {
    const had = forgetToken();
    setConn("refused");
    showLogin(had ? "The server refused this token (401 Unauthorized). Use the link printed by `cc-executor server start`, or paste the token from the state directory." : undefined);
    return;
  }
  if (!check.ok) return scheduleRetry("offline");
  let opened: Rpc;
  try {
    opened = await Rpc.open(getToken());
  } catch {
    return scheduleRetry("reconnecting");
  }
  rpc = opened;
  retryMs = 500;
  opened.onNotification = (method, params) => handlers?.onNotification(method, params);
  opened.onClose = () => {
    if (rpc === opened) rpc = undefined;
    scheduleRetry("reconnecting");
  };
  setConn("connected");
  $("#conn").title = `session ${opened.sessionId}`;
  showApp();
  await handlers?.onConnected();
}
