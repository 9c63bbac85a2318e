import { execFile, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer } from "../helpers/server.js";
import { CHROMIUM, hostilePage, spawnServerIn, upgradeStatus, type SpawnedServer } from "./helpers.js";

/**
 * Peer auth (Linux): the original Python WebSocketClient cannot send a token. A loopback
 * connection from a socket of the server's own user that sends no Origin is let in without one;
 * a browser page (always sends Origin) and every other user still need the token.
 */

const run = promisify(execFile);
const PYTHON_CLIENT = join(import.meta.dirname, "..", "fixtures", "python-ws-client.py");

/** A raw upgrade request, no dependencies, so that another user can run it from a world-readable folder. */
const UPGRADE_SCRIPT = `
import { connect } from "node:net";
const [port, host, token] = process.argv.slice(2);
const s = connect(Number(port), host, () => {
  const lines = ["GET /ws/mcp HTTP/1.1", "Host: " + (host.includes(":") ? "[" + host + "]" : host) + ":" + port, "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"];
  if (token) lines.push("Authorization: Bearer " + token);
  s.write(lines.join("\\r\\n") + "\\r\\n\\r\\n");
});
let text = "";
s.on("data", (d) => { text += d; const m = /^HTTP\\/1\\.1 (\\d+)/.exec(text); if (m) { console.log(m[1] + " uid=" + process.getuid()); s.destroy(); } });
s.on("error", (e) => console.log("error " + e.message));
`;

function upgradeScript(): string {
  const dir = mkdtempSync(join(tmpdir(), "cce-peer-"));
  chmodSync(dir, 0o755);
  const file = join(dir, "upgrade.mjs");
  writeFileSync(file, UPGRADE_SCRIPT, { mode: 0o644 });
  return file;
}

/** Runs argv as the user `nobody`: directly when we are root, else through passwordless sudo. */
async function asNobody(argv: string[]): Promise<string> {
  const setpriv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", ...argv];
  const cmd = process.geteuid?.() === 0 ? setpriv : ["sudo", "-n", ...setpriv];
  if (process.geteuid?.() !== 0 && spawnSync("sudo", ["-n", "true"]).status !== 0) {
    throw new Error("this test connects as another user (nobody): run it as root or with passwordless sudo (setpriv is in util-linux)");
  }
  const { stdout } = await run(cmd[0]!, cmd.slice(1), { timeout: 20_000 });
  return stdout.trim();
}

describe.skipIf(process.platform !== "linux")("peer auth: token-less loopback clients of the server's own user (Linux)", () => {
  let server: SpawnedServer;
  let token: string;
  let browser: Browser;
  const home = mkdtempSync(join(tmpdir(), "cce-peer-home-"));

  beforeAll(async () => {
    // the real CLI server with its defaults, as a user starts it
    server = await spawnServerIn({ cwd: home, args: ["--home", home] });
    token = (await import("node:fs")).readFileSync(join(home, "token"), "utf8").trim();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless"] });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("the original Python client's way (ws://127.0.0.1:PORT/ws/mcp, no token, no Origin) runs a command", async () => {
    const { stdout } = await run("python3", [PYTHON_CLIENT, "127.0.0.1", String(server.port), "echo from-python"], { timeout: 30_000 });
    const messages = stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(messages[0]).toMatchObject({ method: "connected" });
    expect(messages.filter((m) => m.method === "process.output").map((m) => m.params.data).join("")).toBe("from-python\n");
    expect(messages.at(-1)).toMatchObject({ method: "process.completed", params: { status: "completed", exit_code: 0 } });
  });

  it("another user (nobody) without the token is refused; with it, let in", async () => {
    const script = upgradeScript();
    expect(await asNobody([process.execPath, script, String(server.port), "127.0.0.1"])).toBe("401 uid=65534");
    expect(await asNobody([process.execPath, script, String(server.port), "127.0.0.1", token])).toBe("101 uid=65534");
    // the same script as this user, without the token: let in
    const { stdout } = await run(process.execPath, [script, String(server.port), "127.0.0.1"]);
    expect(stdout.trim()).toBe(`101 uid=${process.geteuid!()}`);
  });

  it("a browser page needs the token even on the server's own origin (Chromium runs as this same user)", async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`http://127.0.0.1:${server.port}/`);
    const tryWs = (url: string) =>
      page.evaluate(
        (u) =>
          new Promise<string>((resolve) => {
            const ws = new WebSocket(u);
            ws.onopen = () => (ws.close(), resolve("open"));
            ws.onerror = () => resolve("refused");
          }),
        url,
      );
    expect(await tryWs(`ws://127.0.0.1:${server.port}/ws/mcp`)).toBe("refused");
    expect(await tryWs(`ws://127.0.0.1:${server.port}/ws/mcp?token=${encodeURIComponent(token)}`)).toBe("open");
    // a page on another origin: refused without and with the token
    const hostile = await hostilePage(`ws://127.0.0.1:${server.port}/ws/mcp`);
    try {
      const tab = await (await browser.newContext()).newPage();
      await tab.goto(hostile.url);
      await tab.waitForFunction("document.title !== 'waiting'", undefined, { timeout: 20_000 });
      expect(await tab.title()).toBe("refused");
    } finally {
      await hostile.close();
    }
  });

  it("a non-browser that sends an Origin, or a wrong token, is not let in by peer auth", async () => {
    const url = `ws://127.0.0.1:${server.port}/ws/mcp`;
    expect(await upgradeStatus(url)).toBe(101);
    expect(await upgradeStatus(url, { origin: `http://127.0.0.1:${server.port}` })).toBe(401);
    expect(await upgradeStatus(url, { "sec-fetch-mode": "websocket" })).toBe(401);
    expect(await upgradeStatus(url, { authorization: "Bearer wrong-token-0123456789" })).toBe(401);
    expect(await upgradeStatus(`${url}?token=wrong`)).toBe(401);
  });
});

describe.skipIf(process.platform !== "linux")("peer auth settings", () => {
  it("off (CC_EXECUTOR_PEER_AUTH=false, --no-peer-auth): the token is needed", async () => {
    const off = await startTestServer({ peerAuth: false });
    try {
      expect(await upgradeStatus(off.url)).toBe(401);
    } finally {
      await off.cleanup();
    }
  });

  it("over IPv6 loopback (/proc/net/tcp6) too", async () => {
    const v6 = await startTestServer({ host: "::1", peerAuth: true });
    try {
      expect(await upgradeStatus(v6.url)).toBe(101);
      const { stdout } = await run("python3", [PYTHON_CLIENT, "::1", String(v6.port), "printf v6"], { timeout: 30_000 });
      expect(stdout).toContain('"data": "v6"');
    } finally {
      await v6.cleanup();
    }
  });

  it("a dual-stack wildcard bind (::, with --allow-plaintext) reached over 127.0.0.1 (the server sees ::ffff:127.0.0.1): the peer is found", async () => {
    const wild = await startTestServer({ host: "::", allowPlaintext: true, peerAuth: true });
    try {
      expect(await upgradeStatus(`ws://127.0.0.1:${wild.port}/ws/mcp`)).toBe(101);
    } finally {
      await wild.cleanup();
    }
  });
});
