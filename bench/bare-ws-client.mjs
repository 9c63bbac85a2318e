// The floor of `cc-executor run "true"` against a running server, on Node: a plain node process
// that loads ws, opens one WebSocket with the token (no check of the server first, no settings,
// no command line to parse), sends one `execute` and exits at its `process.completed`.
// bench/cli-bench.ts bundles it with ws into one file, as the CLI bundles ws.
//   node bench/bare-ws-client.mjs <ws-url> <token> <command>   -> exits with the command's exit code
import WebSocket from "ws";

const [url, token, command] = process.argv.slice(2);
const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
ws.on("error", (err) => {
  console.error(err.message);
  process.exit(1);
});
ws.on("message", (data) => {
  const msg = JSON.parse(data.toString());
  if (msg.method === "connected") ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "execute", params: { command } }));
  else if (msg.error) {
    console.error(msg.error.message);
    process.exit(1);
  } else if (msg.method === "process.completed") {
    ws.close(1000);
    ws.terminate();
    process.exitCode = msg.params.exit_code ?? 1;
  }
});
