import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

const empty = () => mkdtempSync(join(tmpdir(), "cce-cfg-"));

describe("loadConfig", () => {
  it("has safe defaults", () => {
    const c = loadConfig({ env: { HOME: "/home/u" }, cwd: empty() });
    expect(c).toMatchObject({ host: "127.0.0.1", port: 8003, auth: true, streamTimeoutS: 600, maxBufferSize: 8 * 1024 * 1024, maxSessions: 100, logLevel: "info" });
    expect(c.home).toMatch(/\.cc-executor$/);
  });

  it("reads env vars, .env, and flags in that order of precedence", () => {
    const cwd = empty();
    writeFileSync(join(cwd, ".env"), "CC_EXECUTOR_PORT=9001\nSTREAM_TIMEOUT=5\nCC_EXECUTOR_SHELL=bash\n");
    const c = loadConfig({ env: { CC_EXECUTOR_PORT: "9002", CC_EXECUTOR_HOME: "/tmp/h" }, cwd, overrides: { shell: "zsh" } });
    expect(c.port).toBe(9002);
    expect(c.streamTimeoutS).toBe(5);
    expect(c.shell).toBe("zsh");
    expect(c.home).toBe("/tmp/h");
  });

  it("rejects bad values naming the variable or flag", () => {
    const cwd = empty();
    expect(() => loadConfig({ env: { CC_EXECUTOR_PORT: "99999" }, cwd })).toThrow(/CC_EXECUTOR_PORT="99999"/);
    expect(() => loadConfig({ env: { CC_EXECUTOR_SHELL: "fish" }, cwd })).toThrow(/CC_EXECUTOR_SHELL/);
    expect(() => loadConfig({ env: { MAX_BUFFER_SIZE: "lots" }, cwd })).toThrow(/MAX_BUFFER_SIZE/);
    expect(() => loadConfig({ env: { LOG_LEVEL: "loud" }, cwd })).toThrow(/LOG_LEVEL/);
    expect(() => loadConfig({ env: { CC_EXECUTOR_TOKEN: "short" }, cwd })).toThrow(/CC_EXECUTOR_TOKEN.*16/);
    expect(() => loadConfig({ env: {}, cwd, overrides: { port: "x" } })).toThrow(/--port/);
    expect(() => loadConfig({ env: { STREAM_TIMEOUT: "-1" }, cwd })).toThrow(ConfigError);
  });
});
