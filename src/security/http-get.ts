import { request as httpRequest, type Agent } from "node:http";
import { request as httpsRequest } from "node:https";

export interface HttpGetOptions {
  headers?: Record<string, string>;
  /** Extra CA certificate(s) (PEM) for https, e.g. a self-signed server certificate. */
  ca?: string | Buffer;
  timeoutMs?: number;
  /** The connection pool to use (e.g. a keep-alive agent whose connection the caller goes on using); default: node's global agent. */
  agent?: Agent;
}

/** GET a JSON document over http or https; rejects on network errors and timeouts, resolves with any status. */
export function httpGetJson(url: string, options: HttpGetOptions = {}): Promise<{ status: number; body: unknown }> {
  const target = new URL(url);
  const request = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(target, { method: "GET", headers: { accept: "application/json", ...options.headers }, ca: options.ca, agent: options.agent, timeout: options.timeoutMs ?? 5000 }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (d: Buffer) => {
        size += d.length;
        if (size > 1024 * 1024) req.destroy(new Error(`answer from ${target.host} is larger than 1 MiB`));
        else chunks.push(d);
      });
      res.on("end", () => {
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer from ${target.host} within ${options.timeoutMs ?? 5000} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/** ws://h:p/ws/mcp -> http://h:p, wss:// -> https:// */
export function httpBaseOf(wsUrl: string): string {
  const u = new URL(wsUrl);
  const protocol = u.protocol === "wss:" || u.protocol === "https:" ? "https:" : "http:";
  return `${protocol}//${u.host}`;
}
