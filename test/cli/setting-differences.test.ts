import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ExecutorClient } from "../../src/client/index.js";
import { settingDifferences } from "../../src/cli/caller-env.js";
import { loadConfig } from "../../src/config.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

let server: TestServer;
let client: ExecutorClient;
beforeAll(async () => {
  server = await startTestServer();
  client = await ExecutorClient.connect({ url: server.url, token: server.token });
});
afterAll(async () => {
  await client?.close();
  await server?.cleanup();
});

/** The methods of the requests this process sends while `fn` runs (the in-process server's answers are not requests). */
async function requestsDuring(fn: () => Promise<unknown>): Promise<string[]> {
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

const configWith = (env: Record<string, string>) => loadConfig({ env: { HOME: "/home/u", ...env }, cwd: mkdtempSync(join(tmpdir(), "cce-diff-")) });

describe("comparing the settings set here with the running server's", () => {
  it("asks the server nothing when only the connection and what the command carries are set here", async () => {
    const config = configWith({ CC_EXECUTOR_PORT: "9", CC_EXECUTOR_HOME: "/tmp/x", CC_EXECUTOR_SHELL: "bash", STREAM_TIMEOUT: "5" });
    let diff: unknown;
    expect(await requestsDuring(async () => (diff = await settingDifferences(client, "run", config)))).toEqual([]);
    expect(diff).toEqual([]);
  });

  it("asks for the server's settings when a setting it keeps is set here, and names the difference", async () => {
    const config = configWith({ CC_EXECUTOR_COMMAND_TIMEOUT: "5", CC_EXECUTOR_SHELL: "bash" });
    let diff: unknown;
    expect(await requestsDuring(async () => (diff = await settingDifferences(client, "run", config)))).toEqual(["settings"]);
    expect(diff).toEqual([{ name: "CC_EXECUTOR_COMMAND_TIMEOUT", here: 5, server: 600 }]);
  });
});
