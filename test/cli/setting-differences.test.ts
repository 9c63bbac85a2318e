import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecutorClient } from "../../src/client/index.js";
import { settingDifferences } from "../../src/cli/caller-env.js";
import { loadConfig } from "../../src/config.js";
import { requestsDuring } from "../helpers/sent-requests.js";
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
