import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { HookConfigError, loadHooks } from "../../src/hooks/index.js";
import { sandbox, trustProject, writeJson, writeText } from "./helpers.js";

/** A pre-execute hook that says which file it came from through an env entry. */
const whichHook = (which: string) => ({ hooks: { "pre-execute": { command: `echo '{"env": {"WHICH": "${which}"}}'` } } });

describe("hooks.json lookup", () => {
  it("uses <cwd>/.cc-executor/hooks.json before <home>/hooks.json, and the home file when there is no project file", async () => {
    const s = sandbox();
    writeJson(s.projectFile, whichHook("project"));
    writeJson(s.homeFile, whichHook("home"));
    trustProject(s);
    const hooks = loadHooks({ cwd: s.cwd, home: s.home });
    expect(hooks.status().config_path).toBe(s.projectFile);
    expect((await hooks.run("pre-execute", { command: "ls" })).env).toEqual({ WHICH: "project" });

    rmSync(s.projectFile);
    expect((await hooks.run("pre-execute", { command: "ls" })).env).toEqual({ WHICH: "home" });
    expect(hooks.status().config_path).toBe(s.homeFile);

    const homeOnly = sandbox();
    writeJson(homeOnly.homeFile, whichHook("home"));
    expect((await loadHooks({ cwd: homeOnly.cwd, home: homeOnly.home }).run("pre-execute", {})).env).toEqual({ WHICH: "home" });
  });

  it("without a file, runs nothing and says so in status", async () => {
    const s = sandbox();
    const hooks = loadHooks({ cwd: s.cwd, home: s.home });
    const started = Date.now();
    const outcome = await hooks.run("pre-execute", { command: "ls" });
    expect(Date.now() - started).toBeLessThan(50);
    expect(outcome).toEqual({ proceed: true, warnings: [], warningDetails: [], ran: 0 });
    const status = hooks.status();
    expect(status).toMatchObject({ enabled: false, config_path: null, last_errors: [], message: "no hooks configured" });
    expect(status.events["pre-execute"]).toBe(0);
  });

  it("accepts a single hook object or a list, and summarises them in status()", () => {
    const s = sandbox();
    writeText(join(s.cwd, ".cc-executor", "notify.mjs"), "export const notify = () => undefined;\n");
    writeJson(s.projectFile, {
      hooks: {
        "pre-execute": [{ command: "./a.sh", timeout: 10, on_error: "block" }, { command: "./b.sh", name: "second" }],
        "post-claude": { module: "./notify.mjs", export: "notify" },
      },
    });
    trustProject(s);
    const status = loadHooks({ cwd: s.cwd, home: s.home }).status();
    expect(status.enabled).toBe(true);
    expect(status.events).toMatchObject({ "pre-execute": 2, "post-claude": 1, "pre-claude": 0 });
    expect(status.hooks).toEqual([
      { event: "pre-execute", index: 0, name: "pre-execute[0] ./a.sh", type: "command", command: "./a.sh", timeout: 10, on_error: "block" },
      { event: "pre-execute", index: 1, name: "second", type: "command", command: "./b.sh", timeout: 60, on_error: "warn" },
      { event: "post-claude", index: 0, name: "post-claude[0] ./notify.mjs#notify", type: "module", module: "./notify.mjs", export: "notify", timeout: 60, on_error: "warn" },
    ]);
  });
});

describe("hooks.json validation", () => {
  const cases: Array<[string, string, RegExp]> = [
    ["wrong type", JSON.stringify({ hooks: { "pre-execute": [{ command: "x", timeout: "10" }] } }), /hooks\.pre-execute\[0\]\.timeout: .*number/],
    ["negative timeout", JSON.stringify({ hooks: { "pre-execute": { command: "x", timeout: -1 } } }), /hooks\.pre-execute\[0\]\.timeout/],
    ["unknown event", JSON.stringify({ hooks: { "pre-exec": { command: "x" } } }), /hooks: .*"pre-exec".*events: pre-execute/],
    ["misspelt field", JSON.stringify({ hooks: { "pre-execute": [{ command: "x", on_eror: "block" }] } }), /hooks\.pre-execute\[0\]: .*"on_eror"/],
    ["bad on_error", JSON.stringify({ hooks: { "pre-execute": [{ command: "x", on_error: "stop" }] } }), /hooks\.pre-execute\[0\]\.on_error/],
    ["neither command nor module", JSON.stringify({ hooks: { "post-claude": [{ timeout: 5 }] } }), /hooks\.post-claude\[0\]: needs exactly one of "command" or "module"/],
    ["both command and module", JSON.stringify({ hooks: { "post-claude": [{ command: "x", module: "./m.mjs" }] } }), /hooks\.post-claude\[0\]: needs exactly one/],
    ["export on a command hook", JSON.stringify({ hooks: { "pre-task": [{ command: "x", export: "f" }] } }), /hooks\.pre-task\[0\]\.export: only applies to a "module" hook/],
    ["empty command", JSON.stringify({ hooks: { "pre-task": [{ command: "  " }] } }), /hooks\.pre-task\[0\]\.command: must not be empty/],
    ["missing module file", JSON.stringify({ hooks: { "post-claude": [{ module: "./nope.mjs" }] } }), /hooks\.post-claude\[0\]\.module: file not found: .*nope\.mjs/],
    ["no hooks key", JSON.stringify({ "pre-execute": [] }), /hooks: /],
    ["not JSON", "{ hooks: ", /not valid JSON/],
  ];
  for (const [what, text, pattern] of cases) {
    it(`refuses ${what}, naming the file and the field`, () => {
      const s = sandbox();
      writeJson(s.homeFile, text);
      let error: unknown;
      try {
        loadHooks({ cwd: s.cwd, home: s.home });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(HookConfigError);
      expect((error as HookConfigError).file).toBe(s.homeFile);
      expect((error as Error).message.startsWith(`${s.homeFile}: `)).toBe(true);
      expect((error as Error).message).toMatch(pattern);
    });
  }

  it("resolves module paths against the config file's folder, not the process's cwd", () => {
    const s = sandbox();
    writeText(join(s.home, "hooks", "m.mjs"), "export default () => {};\n");
    writeJson(s.homeFile, { hooks: { "post-task": { module: "./hooks/m.mjs" } } });
    expect(() => loadHooks({ cwd: s.cwd, home: s.home })).not.toThrow();
    writeFileSync(s.homeFile, JSON.stringify({ hooks: { "post-task": { module: "./m.mjs" } } }));
    expect(() => loadHooks({ cwd: s.cwd, home: s.home })).toThrow(/file not found: .*home\/m\.mjs/);
  });
});
