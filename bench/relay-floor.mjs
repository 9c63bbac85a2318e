// The floors of the stream benchmark's path, each in its own plain `node` process (nothing of
// cc-executor loaded): what Node itself costs to relay a child's pipe to a client on loopback.
//   node bench/relay-floor.mjs tcp <writer.js>  -> the child's stdout piped into a TCP socket as is
//   node bench/relay-floor.mjs ws  <writer.js>  -> each read sent as one binary WebSocket message (ws, no JSON)
// It listens on 127.0.0.1 (port printed as one line on stdout), spawns the writer (`node -e
// <writer.js>`) for the first connection, relays its output with backpressure, then closes and exits.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { WebSocketServer } from "ws";

const [mode, script] = process.argv.slice(2);
const writer = () => spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "ignore"] });

if (mode === "tcp") {
  const server = createServer((socket) => {
    const child = writer();
    child.stdout.pipe(socket);
    socket.on("close", () => server.close());
  });
  server.listen(0, "127.0.0.1", () => console.log(server.address().port));
} else if (mode === "ws") {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false }, () => console.log(wss.address().port));
  wss.on("connection", (ws) => {
    const child = writer();
    // Flow control like the server's: stop reading the pipe while sends are queued.
    let queued = 0;
    child.stdout.on("data", (chunk) => {
      queued += chunk.length;
      ws.send(chunk, { binary: true }, () => {
        queued -= chunk.length;
        if (queued < 1 << 20) child.stdout.resume();
      });
      if (queued >= 1 << 20) child.stdout.pause();
    });
    child.stdout.on("end", () => ws.close());
    ws.on("close", () => wss.close());
  });
} else {
  console.error("usage: relay-floor.mjs tcp|ws <writer script>");
  process.exit(2);
}
