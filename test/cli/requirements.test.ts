import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { requireTool } from "../helpers/tools.js";

const ROOT = join(import.meta.dirname, "..", "..");

describe("what npm test needs", () => {
  it("a missing tool fails the test with the package to install, never a bare ENOENT", async () => {
    expect(() => requireTool("cce-no-such-tool", "no-such-package")).toThrow(/needs `cce-no-such-tool`, which is not installed: apt-get install no-such-package \(README, "Requirements"\)/);
    process.env.REDIS_SERVER_BIN = "/nonexistent/redis-server";
    const { startRedis } = await import("../helpers/redis.js");
    await expect(startRedis()).rejects.toThrow(/apt-get install redis-server/);
  });

  it("the README names every system package CI installs, in one apt line", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const apt = /^\s*sudo apt-get install -y (.+)$/m.exec(readme)?.[1]?.split(/\s+/) ?? [];
    const ci = readFileSync(join(ROOT, ".ci", "run"), "utf8");
    const installed = [...ci.matchAll(/need_apt\+=\((\w[\w-]*)\)/g)].map((m) => m[1]!);
    expect(installed.length).toBeGreaterThan(3);
    for (const pkg of installed) expect(apt, `README's apt line lists ${pkg}`).toContain(pkg);
    for (const tool of ["zsh", "redis-server", "chromium", "bsdutils", "fish"]) expect(apt).toContain(tool);
  });
});
