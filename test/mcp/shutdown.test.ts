import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createMcpServer, type CcExecutorMcpServer } from "../../src/mcp/index.js";
import { liveSleeps, uniqueSleep, waitUntil } from "../helpers/procs.js";

/**
 * The MCP server in this process (createMcpServer, linked to the SDK's client in memory), where a
 * test controls the moment of shutdown: here, while a call still runs its pre-execute hook.
 */

let root: string;
let inHook: string;
let go: string;
let mcp: CcExecutorMcpServer;
let client: Client;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "cce-mcp-close-"));
  const home = join(root, "home");
  const project = join(root, "project");
  mkdirSync(home);
  mkdirSync(project);
  inHook = join(root, "in-hook");
  go = join(root, "go");
  // The user's own hooks file (trusted as it is): the pre-execute hook holds every command until `go` exists.
  writeFileSync(join(home, "hooks.json"), JSON.stringify({ hooks: { "pre-execute": { command: `touch '${inHook}'; while [ ! -f '${go}' ]; do sleep 0.05; done`, timeout: 60 } } }));
  const config = loadConfig({ env: { CC_EXECUTOR_HOME: home, CC_EXECUTOR_KILL_GRACE_MS: "500", LOG_LEVEL: "silent" }, cwd: project });
  mcp = createMcpServer({ config, cwd: project });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await mcp.server.connect(serverSide);
  client = new Client({ name: "cc-executor-test", version: "1.0.0" });
  await client.connect(clientSide);
});

afterAll(async () => {
  writeFileSync(go, ""); // never leave the hook waiting
  await client?.close();
  await mcp?.close();
  rmSync(root, { recursive: true, force: true });
});

describe("createMcpServer: close() while a call is still starting", () => {
  it("waits for the call, cancels the command it starts and answers it before the connection closes", async () => {
    const s = uniqueSleep();
    const answer = client.callTool({ name: "execute_command", arguments: { command: `sleep ${s}` } }).then(
      (r) => r as CallToolResult,
      (err: Error) => err,
    );
    await waitUntil(() => existsSync(inHook), 10_000, "the pre-execute hook to run");
    let closed = false;
    const closing = mcp.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(closed, "close() resolved while a call was still in its pre-execute hook").toBe(false);
    writeFileSync(go, "");
    await closing;
    const r = await answer;
    expect(r, "the call was cut off by the closed connection instead of answered").not.toBeInstanceOf(Error);
    expect(r).toMatchObject({ isError: true, structuredContent: { status: "canceled" } });
    // Nothing the call started outlives the shutdown, now or a moment later.
    expect(liveSleeps(s)).toEqual([]);
    await new Promise((r) => setTimeout(r, 500));
    expect(liveSleeps(s)).toEqual([]);
    expect(mcp.active).toBe(0);
  });
});
