import { spawn } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, runCli } from "../helpers/cli.js";

const ROOT = join(import.meta.dirname, "..", "..");
let dir: string;
let home: string;
/** A PATH with node (for `#!/usr/bin/env node`) and the system tools, without cc-executor or npx. */
let basePath: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "cce-initmcp-"));
  home = join(dir, "home");
  const bin = join(dir, "nodebin");
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, "node"));
  basePath = `${bin}:/usr/bin:/bin`;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface InitMcp {
  claude_mcp_add: string;
  mcp_json: { mcpServers: { "cc-executor": { command: string; args: string[] } } };
  command_from: string;
  warning?: string;
}

async function initMcp(cli: string, path: string, cwd = dir): Promise<InitMcp> {
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [cli, "init", "--mcp", "--json"], { cwd, env: { PATH: path, CC_EXECUTOR_HOME: home, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as InitMcp;
}

/** Starts the entry as Claude Code would and checks that an MCP server answers on stdio. */
async function startsAnMcpServer(entry: { command: string; args: string[] }, path: string): Promise<void> {
  const child = spawn(entry.command, entry.args, { cwd: dir, env: { PATH: path, CC_EXECUTOR_HOME: home, LOG_LEVEL: "silent" }, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "test", version: "0" } } })}\n`);
  const deadline = Date.now() + 30_000;
  while (!stdout.includes('"serverInfo"') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
  child.stdin.end();
  await new Promise((r) => child.on("close", r));
  expect(stdout).toMatch(/"serverInfo":\{"name":"cc-executor"/);
}

describe("cc-executor init --mcp: a command that works where it is run", () => {
  it("not installed: this CLI by absolute paths (node and its script), and that command starts the server", async () => {
    const out = await initMcp(CLI, basePath);
    const entry = out.mcp_json.mcpServers["cc-executor"];
    expect(out.command_from).toBe("this-cli");
    expect(entry).toEqual({ command: process.execPath, args: [realpathSync(CLI), "mcp"] });
    expect(out.claude_mcp_add).toBe(`claude mcp add cc-executor -- ${process.execPath} ${realpathSync(CLI)} mcp`);
    await startsAnMcpServer(entry, basePath);
  }, 60_000);

  it("installed (cc-executor on PATH): its absolute path", async () => {
    const bin = join(dir, "global-bin");
    mkdirSync(bin, { recursive: true });
    if (!existsSync(join(bin, "cc-executor"))) symlinkSync(CLI, join(bin, "cc-executor"));
    const path = `${bin}:${basePath}`;
    const out = await initMcp(CLI, path);
    expect(out.command_from).toBe("installed");
    expect(out.mcp_json.mcpServers["cc-executor"]).toEqual({ command: join(bin, "cc-executor"), args: ["mcp"] });
    expect(out.claude_mcp_add).toBe(`claude mcp add cc-executor -- ${join(bin, "cc-executor")} mcp`);
    await startsAnMcpServer(out.mcp_json.mcpServers["cc-executor"], path);
  }, 60_000);

  it("`npx cc-executor` in a clone: npx's cache on PATH is no install; the clone's own script is used", async () => {
    // npx links the clone into its cache (…/_npx/<hash>/node_modules/.bin/cc-executor) and puts that first on PATH.
    const cacheBin = join(dir, "_npx", "feedbeef", "node_modules", ".bin");
    mkdirSync(cacheBin, { recursive: true });
    if (!existsSync(join(cacheBin, "cc-executor"))) symlinkSync(CLI, join(cacheBin, "cc-executor"));
    const out = await initMcp(CLI, `${cacheBin}:${basePath}`);
    expect(out.command_from).toBe("this-cli");
    expect(out.mcp_json.mcpServers["cc-executor"]).toEqual({ command: process.execPath, args: [realpathSync(CLI), "mcp"] });
  }, 60_000);

  it("run from npx's throw-away cache: npx -y cc-executor mcp, with a warning when npx is not on PATH either", async () => {
    // A copy of the package where npx keeps it (…/_npx/<hash>/node_modules/cc-executor).
    const pkg = join(dir, "_npx", "0123abcd", "node_modules", "cc-executor");
    if (!existsSync(pkg)) {
      mkdirSync(pkg, { recursive: true });
      cpSync(join(ROOT, "dist"), join(pkg, "dist"), { recursive: true });
      cpSync(join(ROOT, "package.json"), join(pkg, "package.json"));
      symlinkSync(join(ROOT, "node_modules"), join(pkg, "node_modules"));
    }
    const cli = join(pkg, "dist", "cli", "main.js");
    const withNpx = join(dir, "npx-bin");
    mkdirSync(withNpx, { recursive: true });
    writeFileSync(join(withNpx, "npx"), "#!/bin/sh\nexit 0\n");
    chmodSync(join(withNpx, "npx"), 0o755);
    const out = await initMcp(cli, `${withNpx}:${basePath}`);
    expect(out.command_from).toBe("npx");
    expect(out.mcp_json.mcpServers["cc-executor"]).toEqual({ command: "npx", args: ["-y", "cc-executor", "mcp"] });
    expect(out.claude_mcp_add).toBe("claude mcp add cc-executor -- npx -y cc-executor mcp");
    expect(out.warning).toBeUndefined();
    const none = await initMcp(cli, join(dir, "nodebin")); // node only: no npx (it lives beside node in /usr/bin)
    expect(none.warning).toMatch(/neither `cc-executor` nor `npx` is on PATH/);
  }, 60_000);

  it("--write creates and merges .mcp.json with that entry; a broken .mcp.json is left alone (exit 2)", async () => {
    const project = join(dir, "project");
    mkdirSync(project, { recursive: true });
    writeFileSync(join(project, ".mcp.json"), JSON.stringify({ mcpServers: { other: { command: "other-server", args: [] } }, extra: 1 }));
    const env = { CC_EXECUTOR_HOME: home, PATH: basePath };
    const written = await runCli(["init", "--mcp", "--write"], { cwd: project, env });
    expect(written.code, written.stderr).toBe(0);
    expect(written.stdout).toContain(`claude mcp add cc-executor -- ${process.execPath} ${realpathSync(CLI)} mcp`);
    expect(JSON.parse(readFileSync(join(project, ".mcp.json"), "utf8"))).toEqual({
      mcpServers: { other: { command: "other-server", args: [] }, "cc-executor": { command: process.execPath, args: [realpathSync(CLI), "mcp"] } },
      extra: 1,
    });
    const again = await runCli(["init", "--mcp", "--write", "--json"], { cwd: project, env });
    expect(JSON.parse(again.stdout).written.action).toBe("unchanged");

    const broken = join(dir, "broken");
    mkdirSync(broken, { recursive: true });
    writeFileSync(join(broken, ".mcp.json"), "{ not json");
    const r = await runCli(["init", "--mcp", "--write"], { cwd: broken, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\.mcp\.json is not valid JSON/);
    expect(readFileSync(join(broken, ".mcp.json"), "utf8")).toBe("{ not json");
  }, 60_000);
});

