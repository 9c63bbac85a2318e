import { rmSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadHooks } from "../../src/hooks/index.js";
import { sandbox, trustProject, writeJson } from "./helpers.js";

const rewriteTo = (command: string) => ({ hooks: { "pre-execute": { command: `echo '{"command": "${command}"}'` } } });

describe("reloading hooks.json", () => {
  it("uses the new hooks after the file is edited, with no restart", async () => {
    const s = sandbox();
    writeJson(s.homeFile, rewriteTo("first"));
    const hooks = loadHooks({ cwd: s.cwd, home: s.home });
    expect((await hooks.run("pre-execute", { command: "x" })).command).toBe("first");
    writeJson(s.homeFile, rewriteTo("second version"));
    expect((await hooks.run("pre-execute", { command: "x" })).command).toBe("second version");
    expect(hooks.status().hooks[0]!.command).toContain("second version");
  });

  it("picks up a file created after start, and drops hooks whose file is deleted", async () => {
    const s = sandbox();
    const hooks = loadHooks({ cwd: s.cwd, home: s.home });
    expect((await hooks.run("pre-execute", { command: "x" })).ran).toBe(0);
    writeJson(s.projectFile, rewriteTo("new"));
    trustProject(s);
    expect(await hooks.run("pre-execute", { command: "x" })).toMatchObject({ ran: 1, command: "new" });
    expect(hooks.configPath).toBe(s.projectFile);
    rmSync(s.projectFile);
    expect((await hooks.run("pre-execute", { command: "x" })).ran).toBe(0);
    expect(hooks.status()).toMatchObject({ enabled: false, config_path: null });
  });

  it("keeps the previous hooks while the file is invalid, says why in each outcome and in status, and recovers once fixed", async () => {
    const s = sandbox();
    writeJson(s.homeFile, rewriteTo("guarded"));
    const hooks = loadHooks({ cwd: s.cwd, home: s.home });
    writeFileSync(s.homeFile, JSON.stringify({ hooks: { "pre-execute": { command: "x", timeout: "soon" } } }));
    const broken = await hooks.run("pre-execute", { command: "x" });
    expect(broken.command).toBe("guarded");
    expect(broken.warnings).toEqual([expect.stringMatching(/invalid hooks file \(the previous hooks are still in use\): .*hooks\.json: hooks\.pre-execute\[0\]\.timeout/)]);
    expect(hooks.status().config_error).toMatch(/hooks\.pre-execute\[0\]\.timeout/);

    writeJson(s.homeFile, rewriteTo("fixed"));
    const fixed = await hooks.run("pre-execute", { command: "x" });
    expect(fixed).toMatchObject({ command: "fixed", warnings: [] });
    expect(hooks.status().config_error).toBeUndefined();
  });

  it("an invalid file appearing where there was none runs nothing, and warns", async () => {
    const s = sandbox();
    const hooks = loadHooks({ cwd: s.cwd, home: s.home });
    writeJson(s.homeFile, "{ not json");
    const outcome = await hooks.run("pre-execute", { command: "x" });
    expect(outcome).toMatchObject({ proceed: true, ran: 0 });
    expect(outcome.warnings).toEqual([expect.stringMatching(/no hooks are in use.*not valid JSON/)]);
  });
});
