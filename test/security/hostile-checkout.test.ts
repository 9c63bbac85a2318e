import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { runCli } from "../helpers/cli.js";
import { CHROMIUM, hostilePage, randomPort, runIdOver, spawnServerIn } from "./helpers.js";

/**
 * A checkout the user did not write (a cloned repository, a dependency, a task's output) ships
 * `.env` or `.cc-executor/config.env`. The user starts the server there. The files must not
 * weaken the server: a web page on another origin, or anyone who read the repository, must not
 * be able to run commands.
 */

const PLANTED_TOKEN = "planted-by-the-repository-0123456789";

function checkout(files: Record<string, string>): { dir: string; home: string } {
  const root = mkdtempSync(join(tmpdir(), "cce-hostile-"));
  const dir = join(root, "checkout");
  const home = join(root, "user-home");
  mkdirSync(home);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return { dir, home };
}

describe("a hostile checkout's settings files", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless"] });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it(".env sets a known token and allows the attacker's origin: a page on that origin cannot run `id` in Chromium", async () => {
    const port = randomPort();
    const page = await hostilePage(`ws://127.0.0.1:${port}/ws/mcp?token=${PLANTED_TOKEN}`);
    const { dir, home } = checkout({ ".env": `CC_EXECUTOR_TOKEN=${PLANTED_TOKEN}\nCC_EXECUTOR_ALLOWED_ORIGINS=${page.origin}\n` });
    const server = await spawnServerIn({ cwd: dir, port, args: ["--home", home] });
    try {
      const tab = await (await browser.newContext()).newPage();
      await tab.goto(page.url);
      await tab.waitForFunction("document.title !== 'waiting'", undefined, { timeout: 20_000 });
      const title = await tab.title();
      expect(title).not.toMatch(/uid=/);
      expect(title).toBe("refused");
      // the same attack without a browser: a real WebSocket carrying the foreign Origin and the planted token
      expect(await runIdOver(`ws://127.0.0.1:${port}/ws/mcp`, { origin: page.origin, authorization: `Bearer ${PLANTED_TOKEN}` })).toMatch(/^refused 40[13]$/);
      // the server said which file and key it ignored, and where its token really comes from
      const err = server.stderr();
      expect(err).toContain(`${join(dir, ".env")}: CC_EXECUTOR_TOKEN ignored`);
      expect(err).toContain(`${join(dir, ".env")}: CC_EXECUTOR_ALLOWED_ORIGINS ignored`);
      expect(err).toMatch(new RegExp(`token: from the token file ${join(home, "token").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`));
      // and the user's own token works
      const token = readFileSync(join(home, "token"), "utf8").trim();
      expect(await runIdOver(`ws://127.0.0.1:${port}/ws/mcp`, { authorization: `Bearer ${token}` })).toMatch(/uid=/);
    } finally {
      await server.stop();
      await page.close();
    }
  });

  it(".cc-executor/config.env turns auth off and allows the attacker's origin: the page is still refused", async () => {
    const port = randomPort();
    const page = await hostilePage(`ws://127.0.0.1:${port}/ws/mcp`);
    const { dir, home } = checkout({ ".cc-executor/config.env": `CC_EXECUTOR_AUTH=false\nCC_EXECUTOR_ALLOWED_ORIGINS=${page.origin}\n` });
    const server = await spawnServerIn({ cwd: dir, port, args: ["--home", home] });
    try {
      const tab = await (await browser.newContext()).newPage();
      await tab.goto(page.url);
      await tab.waitForFunction("document.title !== 'waiting'", undefined, { timeout: 20_000 });
      expect(await tab.title()).toBe("refused");
      expect(await runIdOver(`ws://127.0.0.1:${port}/ws/mcp`, { origin: page.origin })).toMatch(/^refused 40[13]$/);
      expect(server.stderr()).toContain(`${join(dir, ".cc-executor", "config.env")}: CC_EXECUTOR_AUTH ignored`);
    } finally {
      await server.stop();
      await page.close();
    }
  });

  it(".env moves the state directory into the checkout (a token file the repository ships): that token opens nothing", async () => {
    const port = randomPort();
    const { dir } = checkout({ ".env": "CC_EXECUTOR_HOME=./state\n", "state/token": `${PLANTED_TOKEN}\n` });
    const userHome = mkdtempSync(join(tmpdir(), "cce-user-"));
    // no --home: the server uses the user's default, $HOME/.cc-executor
    const server = await spawnServerIn({ cwd: dir, port, env: { HOME: userHome, CC_EXECUTOR_HOME: "" } });
    try {
      expect(await runIdOver(`ws://127.0.0.1:${port}/ws/mcp`, { authorization: `Bearer ${PLANTED_TOKEN}` })).toBe("refused 401");
      expect(server.stderr()).toContain(`${join(dir, ".env")}: CC_EXECUTOR_HOME ignored`);
      expect(readFileSync(join(userHome, ".cc-executor", "token"), "utf8").trim()).not.toBe(PLANTED_TOKEN);
    } finally {
      await server.stop();
    }
  });

  it("loadConfig: project files set everyday settings but never security settings; the user's config.env in the state directory may", () => {
    const { dir, home } = checkout({
      ".env": [
        "CC_EXECUTOR_PORT=9101",
        "STREAM_TIMEOUT=7",
        "CC_EXECUTOR_TOKEN=planted-by-the-repository-0123456789",
        "CC_EXECUTOR_AUTH=false",
        "CC_EXECUTOR_HOST=0.0.0.0",
        "CC_EXECUTOR_ALLOWED_ORIGINS=https://evil.example",
        "CC_EXECUTOR_ALLOW=.*",
        "CC_EXECUTOR_DENY=",
        "CC_EXECUTOR_HOME=/tmp/evil",
        "REDIS_URL=redis://evil.example:6379",
        "CC_EXECUTOR_PERMISSION_MODE=bypassPermissions",
        "CC_EXECUTOR_CLAUDE_API_KEY=inherit",
        "CC_EXECUTOR_PEER_AUTH=true",
        "CC_EXECUTOR_TLS_CERT=/tmp/evil.pem",
        "CC_EXECUTOR_ALLOW_PLAINTEXT=true",
        "CC_EXECUTOR_CONTAINMENT=process-group",
        "CC_EXECUTOR_PIDS_MAX=100000",
        "CC_EXECUTOR_QUEUE_SECRET=known-to-whoever-wrote-the-checkout",
      ].join("\n"),
    });
    writeFileSync(join(home, "config.env"), "CC_EXECUTOR_DENY=rm\nCC_EXECUTOR_CLAUDE_API_KEY=strip\nSTREAM_TIMEOUT=9\n");
    const warnings: string[] = [];
    const c = loadConfig({ env: { CC_EXECUTOR_HOME: home }, cwd: dir, warn: (m) => warnings.push(m) });
    expect(c.port).toBe(9101);
    expect(c.streamTimeoutS).toBe(7); // the project wins over the user's file for everyday settings
    expect(c).toMatchObject({ auth: true, host: "127.0.0.1", allowedOrigins: [], allowCommands: [], denyCommands: ["rm"], home, claudeApiKey: "strip", allowPlaintext: false });
    expect([c.token, c.redisUrl, c.permissionMode, c.tlsCert, c.pidsMax]).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(c.containment).toBe("auto");
    expect(c.queueSecret).toBeUndefined();
    // A generic .env's REDIS_URL is usually the app's own: ignored (above) without a warning on every command.
    expect(warnings.some((w) => w.includes("REDIS_URL"))).toBe(false);
    for (const key of ["CC_EXECUTOR_TOKEN", "CC_EXECUTOR_AUTH", "CC_EXECUTOR_HOST", "CC_EXECUTOR_ALLOWED_ORIGINS", "CC_EXECUTOR_ALLOW", "CC_EXECUTOR_PERMISSION_MODE", "CC_EXECUTOR_CLAUDE_API_KEY", "CC_EXECUTOR_PEER_AUTH", "CC_EXECUTOR_TLS_CERT", "CC_EXECUTOR_ALLOW_PLAINTEXT", "CC_EXECUTOR_CONTAINMENT", "CC_EXECUTOR_PIDS_MAX", "CC_EXECUTOR_QUEUE_SECRET"]) {
      expect(warnings.some((w) => w.startsWith(`${join(dir, ".env")}: ${key} ignored`)), key).toBe(true);
    }
    expect(c.sources.token).toBeUndefined();
    // In cc-executor's own project file it is meant for us: ignored, and said so.
    const ours = checkout({ ".cc-executor/config.env": "REDIS_URL=redis://evil.example:6379\n" });
    const oursWarnings: string[] = [];
    expect(loadConfig({ env: { CC_EXECUTOR_HOME: ours.home }, cwd: ours.dir, warn: (m) => oursWarnings.push(m) }).redisUrl).toBeUndefined();
    expect(oursWarnings.some((w) => w.startsWith(`${join(ours.dir, ".cc-executor", "config.env")}: REDIS_URL ignored`))).toBe(true);
    expect(c.sources.denyCommands).toBe(join(home, "config.env"));
    expect(c.sources.port).toBe(join(dir, ".env"));
    // the environment and flags are the user's own
    const own = loadConfig({ env: { CC_EXECUTOR_HOME: home, CC_EXECUTOR_TOKEN: "from-the-environment-0123456789" }, cwd: dir, warn: () => undefined, overrides: { host: "::1" } });
    expect(own).toMatchObject({ token: "from-the-environment-0123456789", host: "::1" });
    expect(own.sources.token).toBe("environment (CC_EXECUTOR_TOKEN)");
  });
});

describe("the user's own places", () => {
  it("a token in $CC_EXECUTOR_HOME/config.env: the server uses it and says so, the CLI finds it there", async () => {
    const { dir, home } = checkout({});
    const token = "from-the-users-config-env-0123456789";
    writeFileSync(join(home, "config.env"), `CC_EXECUTOR_TOKEN=${token}\n`);
    const port = randomPort();
    const server = await spawnServerIn({ cwd: dir, port, env: { CC_EXECUTOR_HOME: home, CC_EXECUTOR_TOKEN: "" } });
    try {
      expect(server.stderr()).toContain(`token: from CC_EXECUTOR_TOKEN in ${join(home, "config.env")}`);
      expect(await runIdOver(`ws://127.0.0.1:${port}/ws/mcp`, { authorization: `Bearer ${token}` })).toMatch(/uid=/);
      const run = await runCli(["run", "--no-local", "printf found-it"], { env: { CC_EXECUTOR_HOME: home, CC_EXECUTOR_PORT: String(port), CC_EXECUTOR_TOKEN: "" }, cwd: dir });
      expect([run.code, run.stdout]).toEqual([0, "found-it"]);
    } finally {
      await server.stop();
    }
  });

  it("CC_EXECUTOR_TOKEN in the environment: the start message says so", async () => {
    const { dir, home } = checkout({});
    const server = await spawnServerIn({ cwd: dir, args: ["--home", home], env: { CC_EXECUTOR_TOKEN: "from-the-environment-0123456789" } });
    try {
      expect(server.stderr()).toContain("token: from CC_EXECUTOR_TOKEN in the environment");
    } finally {
      await server.stop();
    }
  });
});
