/** JSON-RPC 2.0 over the server's WebSocket, as the page speaks it. */

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

export function wsUrl(token: string | undefined): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/ws/mcp${token ? `?token=${encodeURIComponent(token)}` : ""}`;
}

export class Rpc {
  private next = 1;
  private readonly pending = new Map<number, Pending>();
  sessionId = "";
  onNotification: (method: string, params: Record<string, unknown>) => void = () => {};
  onClose: (code: number, reason: string) => void = () => {};

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener("message", (ev) => this.receive(String(ev.data)));
    ws.addEventListener("close", (ev) => {
      for (const p of this.pending.values()) p.reject(new RpcError(-1, "connection closed"));
      this.pending.clear();
      this.onClose(ev.code, ev.reason);
    });
  }

  /** Resolves once the server said `connected`; rejects when the connection fails or closes first. */
  static open(token: string | undefined, timeoutMs = 10_000): Promise<Rpc> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl(token));
      const rpc = new Rpc(ws);
      const timer = window.setTimeout(() => {
        ws.close();
        reject(new Error("timed out connecting"));
      }, timeoutMs);
      rpc.onNotification = (method, params) => {
        if (method !== "connected") return;
        window.clearTimeout(timer);
        rpc.sessionId = String(params.session_id ?? "");
        rpc.onNotification = () => {};
        resolve(rpc);
      };
      rpc.onClose = (code) => {
        window.clearTimeout(timer);
        reject(new Error(`connection closed (${code})`));
      };
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  call<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    if (!this.open) return Promise.reject(new RpcError(-1, "not connected"));
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
    });
  }

  close(): void {
    this.ws.close(1000, "bye");
  }

  private receive(text: string): void {
    let msg: { id?: number | null; method?: string; params?: Record<string, unknown>; result?: unknown; error?: { code: number; message: string } };
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (msg.method) {
      this.onNotification(msg.method, msg.params ?? {});
      return;
    }
    if (typeof msg.id !== "number") return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.error) p.reject(new RpcError(msg.error.code, msg.error.message));
    else p.resolve(msg.result);
  }
}
