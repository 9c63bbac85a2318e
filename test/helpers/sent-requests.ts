import WebSocket from "ws";

/**
 * The methods of the requests this process sends over any WebSocket while `fn` runs. An
 * in-process server's notifications and answers go through the same `send` but are not requests.
 */
export async function requestsDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const sent: string[] = [];
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (this: WebSocket, data: unknown, ...rest: unknown[]) {
    const msg = JSON.parse(String(data)) as { id?: number; method?: string };
    if (msg.id !== undefined && msg.method !== undefined) sent.push(msg.method);
    return (send as (...a: unknown[]) => void).call(this, data, ...rest);
  } as typeof send;
  try {
    await fn();
  } finally {
    WebSocket.prototype.send = send;
  }
  return sent;
}
