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

  it("reads each kind of setting as people write it, and says what was expected", () => {
    const cwd = empty();
    const c = loadConfig({
      env: {
        CC_EXECUTOR_AUTH: "off",
        CC_EXECUTOR_REPLAY_FILE_MAX: "1.5M",
        CC_EXECUTOR_RUNS_MAX_AGE: "2w",
        CC_EXECUTOR_ALLOWED_ORIGINS: "http://a, http://b,,",
        CC_EXECUTOR_ALLOW: '["^ls$", "^git "]',
        REDIS_URL: " redis://127.0.0.1:6379/0 ",
        CC_EXECUTOR_CLAUDE_TIMEOUT: "90.5",
        CC_EXECUTOR_PERMISSION_MODE: "plan",
      },
      cwd,
    });
    expect(c).toMatchObject({ auth: false, replayFileMaxBytes: 1.5 * 1024 ** 2, runsMaxAgeS: 14 * 86_400, allowedOrigins: ["http://a", "http://b"], allowCommands: ["^ls$", "^git "], redisUrl: "redis://127.0.0.1:6379/0", claudeTimeoutS: 90.5, permissionMode: "plan" });
    expect(c.denyCommands).toEqual([]);
    expect(c.tlsCert).toBeUndefined();
    const problem = (env: Record<string, string>) => () => loadConfig({ env, cwd });
    expect(problem({ CC_EXECUTOR_AUTH: "TRUE" })).toThrow(/CC_EXECUTOR_AUTH="TRUE": expected true or false/);
    expect(problem({ CC_EXECUTOR_REPLAY_FILE_MAX: "1k" })).toThrow(/CC_EXECUTOR_REPLAY_FILE_MAX="1k": expected a size from 262144/);
    expect(problem({ CC_EXECUTOR_RUNS_MAX_AGE: "forever" })).toThrow(/expected an age, e.g. 30d/);
    expect(problem({ CC_EXECUTOR_ALLOWED_ORIGINS: "[1]" })).toThrow(/expected a JSON array of strings or comma-separated values/);
    expect(problem({ REDIS_URL: "not a url" })).toThrow(/REDIS_URL="not a url": expected a URL/);
    expect(problem({ CC_EXECUTOR_CLAUDE_TIMEOUT: "0" })).toThrow(/expected a number of seconds above 0/);
    expect(problem({ CC_EXECUTOR_QUEUE: "a:b" })).toThrow(/no colon/);
    expect(problem({ CC_EXECUTOR_PERMISSION_MODE: "yolo" })).toThrow(/expected one of default, acceptEdits/);
    // every problem at once, in the settings' order
    expect(problem({ LOG_LEVEL: "x", CC_EXECUTOR_PORT: "abc" })).toThrow(/CC_EXECUTOR_PORT="abc": expected a whole number from 0 to 65535; LOG_LEVEL="x": expected one of/);
  });
});
