import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";

/**
 * A WebSocket client written by hand on a bare TCP socket, for tests that need a peer which stops
 * reading: once `pause()`d, nothing reads the socket, the kernel buffers fill and TCP
 * backpressure reaches the server for real.
 */
export class RawSocketClient {
  private constructor(readonly socket: Socket) {}

  static async open(port: number, token: string, path = "/ws/mcp"): Promise<RawSocketClient> {
    const socket = connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const key = randomBytes(16).toString("base64");
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    );
    const head = await new Promise<string>((resolve, reject) => {
      let got = "";
      const onData = (chunk: Buffer) => {
        got += chunk.toString("latin1");
        const end = got.indexOf("\r\n\r\n");
        if (end === -1) return;
        socket.off("data", onData);
        socket.pause();
        resolve(got.slice(0, end));
      };
      socket.on("data", onData);
      socket.once("error", reject);
    });
    if (!head.startsWith("HTTP/1.1 101")) throw new Error(`upgrade refused: ${head.split("\r\n")[0]}`);
    return new RawSocketClient(socket);
  }

  /** Sends one masked text frame (as every client must). */
  sendText(text: string): void {
    const payload = Buffer.from(text);
    const mask = randomBytes(4);
    const len = payload.length;
    const header = len < 126 ? Buffer.from([0x81, 0x80 | len]) : len < 65536 ? Buffer.from([0x81, 0x80 | 126, len >> 8, len & 0xff]) : Buffer.concat([Buffer.from([0x81, 0x80 | 127]), bigLength(len)]);
    const masked = Buffer.alloc(len);
    for (let i = 0; i < len; i++) masked[i] = payload[i]! ^ mask[i % 4]!;
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  request(id: number, method: string, params: unknown): void {
    this.sendText(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function bigLength(len: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(len));
  return b;
}
