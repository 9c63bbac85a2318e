import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { loadHooks } from "../../src/hooks/index.js";
import { sandbox, trustProject, writeJson, writeText } from "./helpers.js";

function project(hooks: Record<string, unknown>, modules: Record<string, string>) {
  const s = sandbox();
  const dir = join(s.cwd, ".cc-executor");
  for (const [name, text] of Object.entries(modules)) writeText(join(dir, name), text);
  writeJson(s.projectFile, { hooks });
  return { ...s, dir, load: () => (trustProject(s), loadHooks({ cwd: s.cwd, home: s.home })) };
}

describe("module hooks", () => {
  it("are called with the context and answer like shell hooks (named export)", async () => {
    const p = project(
      { "pre-claude": { module: "./hooks/guard.mjs", export: "guard" } },
      { "hooks/guard.mjs": `export function guard(ctx) { return { prompt: ctx.prompt + " [" + ctx.event + " " + ctx.execution_id + "]", env: { SEEN_CWD: ctx.cwd } }; }\nexport default () => ({ prompt: "wrong export" });\n` },
    );
    const outcome = await p.load().run("pre-claude", { prompt: "hi", execution_id: "e-7", cwd: "/srv" });
    expect(outcome).toMatchObject({ proceed: true, ran: 1, warnings: [], prompt: "hi [pre-claude e-7]", env: { SEEN_CWD: "/srv" } });
  });

  it("the logging example of docs/hooks.md appends one line per event and may be async", async () => {
    const p = project(
      { "post-claude": { module: "./log-claude.mjs" } },
      {
        "log-claude.mjs": `import { appendFile } from "node:fs/promises";
export default async function logClaude(ctx) {
  const line = { at: new Date().toISOString(), event: ctx.event, execution_id: ctx.execution_id, status: ctx.result?.status };
  await appendFile(process.env.CLAUDE_LOG ?? new URL("./claude.log", import.meta.url), JSON.stringify(line) + "\\n");
}
`,
      },
    );
    const hooks = p.load();
    await hooks.run("post-claude", { execution_id: "a", result: { status: "completed" } });
    await hooks.run("post-claude", { execution_id: "b", result: { status: "failed" } });
    const lines = readFileSync(join(p.dir, "claude.log"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.execution_id, l.status])).toEqual([["a", "completed"], ["b", "failed"]]);
  });

  it("refuse with {proceed:false}", async () => {
    const p = project({ "pre-task": { module: "./m.mjs" } }, { "m.mjs": `export default (ctx) => ctx.task.id === "deploy" ? { proceed: false, message: "no deploys on Friday" } : undefined;\n` });
    const hooks = p.load();
    expect(await hooks.run("pre-task", { task: { id: "deploy" } })).toMatchObject({ proceed: false, message: "no deploys on Friday" });
    expect(await hooks.run("pre-task", { task: { id: "build" } })).toMatchObject({ proceed: true, ran: 1, warnings: [] });
  });

  it("a throw is a failure: a warning by default, a refusal with on_error block", async () => {
    const modules = { "bad.mjs": `export default () => { throw new Error("kaboom"); };\n` };
    const warn = await project({ "pre-execute": { module: "./bad.mjs" } }, modules).load().run("pre-execute", { command: "ls" });
    expect(warn.proceed).toBe(true);
    expect(warn.warnings).toEqual([expect.stringMatching(/bad\.mjs#default: kaboom$/)]);
    const block = await project({ "pre-execute": { module: "./bad.mjs", on_error: "block" } }, modules).load().run("pre-execute", { command: "ls" });
    expect(block.proceed).toBe(false);
    expect(block.message).toMatch(/failed: kaboom/);
  });

  it("a missing export or a malformed answer is a failure", async () => {
    const p = project(
      { "pre-execute": [{ module: "./m.mjs", export: "nope" }, { module: "./m.mjs", export: "bad" }] },
      { "m.mjs": `export const bad = () => ({ env: { "NOT A NAME": "x" } });\n` },
    );
    const outcome = await p.load().run("pre-execute", { command: "ls" });
    expect(outcome.warnings).toHaveLength(2);
    expect(outcome.warnings[0]).toMatch(/export "nope" is missing/);
    expect(outcome.warnings[1]).toMatch(/invalid answer: env\.NOT A NAME: not a valid variable name/);
    expect(outcome.env).toBeUndefined();
  });

  it("a hook that never settles times out", async () => {
    const p = project({ "pre-execute": { module: "./hang.mjs", timeout: 0.3 } }, { "hang.mjs": "export default () => new Promise(() => {});\n" });
    const started = Date.now();
    const outcome = await p.load().run("pre-execute", { command: "ls" });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(outcome.proceed).toBe(true);
    expect(outcome.warnings).toEqual([expect.stringMatching(/timed out after 0\.3s/)]);
  });

  it("cannot change what the next hook sees by mutating its argument", async () => {
    const p = project(
      { "pre-execute": [{ module: "./m.mjs", export: "mutate" }, { module: "./m.mjs", export: "report" }] },
      { "m.mjs": `export const mutate = (c) => { c.command = "mutated"; c.env.X = "mutated"; };\nexport const report = (c) => ({ command: "saw " + c.command + " " + c.env.X });\n` },
    );
    const outcome = await p.load().run("pre-execute", { command: "orig", env: { X: "orig" } });
    expect(outcome.command).toBe("saw orig orig");
  });

  it("an edited module is imported again (checked in a real Node process: vitest caches modules its own way)", () => {
    const s = sandbox();
    const modulePath = writeText(join(s.home, "m.mjs"), `export default () => ({ prompt: "v1" });\n`);
    writeJson(s.homeFile, { hooks: { "pre-claude": { module: "./m.mjs" } } });
    const script = writeText(
      join(s.root, "reload.mts"),
      `import { utimesSync, writeFileSync } from "node:fs";
import { loadHooks } from ${JSON.stringify(resolve("src/hooks/index.ts"))};
const hooks = loadHooks({ cwd: ${JSON.stringify(s.cwd)}, home: ${JSON.stringify(s.home)} });
const first = await hooks.run("pre-claude", { prompt: "p" });
writeFileSync(${JSON.stringify(modulePath)}, 'export default () => ({ prompt: "v2" });\\n');
utimesSync(${JSON.stringify(modulePath)}, new Date(), new Date(Date.now() + 5000));
const second = await hooks.run("pre-claude", { prompt: "p" });
console.log(JSON.stringify([first.prompt, second.prompt]));
`,
    );
    const out = execFileSync(resolve("node_modules/.bin/tsx"), [script], { encoding: "utf8" });
    expect(JSON.parse(out.trim())).toEqual(["v1", "v2"]);
  });
});

describe("TypeScript module hooks", () => {
  it("are compiled on the fly under plain Node 20 (the built package, no tsx loader)", () => {
    const p = project(
      { "pre-claude": { module: "./guard.ts" } },
      { "guard.ts": `interface Ctx { prompt?: string }\nexport default (ctx: Ctx): { prompt: string } => ({ prompt: (ctx.prompt ?? "") + " (checked by ts)" });\n` },
    );
    const dist = resolve("dist/hooks/index.js");
    const script = `import { loadHooks, trustHooksFile } from ${JSON.stringify(dist)};
trustHooksFile(${JSON.stringify(p.home)}, ${JSON.stringify(p.projectFile)});
const o = await loadHooks({ cwd: ${JSON.stringify(p.cwd)}, home: ${JSON.stringify(p.home)} }).run("pre-claude", { prompt: "hi" });
console.log(JSON.stringify(o));`;
    const out = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }));
    expect(out).toMatchObject({ proceed: true, prompt: "hi (checked by ts)", warnings: [] });
  });
});
