import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadHooks, type HookContext } from "../../src/hooks/index.js";
import { uniqueSleep, waitUntil } from "../helpers/procs.js";
import { sandbox, trustProject, writeJson, writeScript } from "./helpers.js";

/** Writes hooks.json into a fresh project with the given hooks; scripts go next to it. */
function project(hooks: Record<string, unknown>) {
  const s = sandbox();
  writeJson(s.projectFile, { hooks });
  const dir = join(s.cwd, ".cc-executor");
  return { ...s, dir, load: () => (trustProject(s), loadHooks({ cwd: s.cwd, home: s.home })) };
}

/** `ps -eo pid,pgid,args`, as the brief says: what really runs. */
function psLines(): Array<{ pid: number; pgid: number; args: string }> {
  return execFileSync("ps", ["-eo", "pid,pgid,stat,args"], { encoding: "utf8" })
    .split("\n")
    .slice(1)
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && !m[3]!.startsWith("Z"))
    .map((m) => ({ pid: Number(m[1]), pgid: Number(m[2]), args: m[4]! }));
}

const savedEnv = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
});

describe("shell hooks: what they are given", () => {
  it("get the context as JSON on stdin and as CC_EXECUTOR_* variables, but not the server's token or stale values", async () => {
    const p = project({ "pre-execute": { command: "./record.sh" } });
    writeScript(join(p.dir, "record.sh"), `cat > "${p.root}/stdin.json"\nenv | grep '^CC_EXECUTOR_' | sort > "${p.root}/env.txt"\npwd > "${p.root}/pwd.txt"`);
    process.env.CC_EXECUTOR_TOKEN = "server-secret-token-value";
    process.env.CC_EXECUTOR_PROMPT = "stale prompt from the server's environment";
    const context: Omit<HookContext, "event"> = { execution_id: "exec-1", session_id: "sess-1", command: "echo 'hi there'", cwd: "/tmp", env: { FOO: "bar" } };
    const outcome = await p.load().run("pre-execute", context);
    expect(outcome).toMatchObject({ proceed: true, ran: 1, warnings: [] });

    expect(JSON.parse(readFileSync(join(p.root, "stdin.json"), "utf8"))).toEqual({ ...context, event: "pre-execute" });
    const env = Object.fromEntries(readFileSync(join(p.root, "env.txt"), "utf8").trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    expect(env).toMatchObject({
      CC_EXECUTOR_EVENT: "pre-execute",
      CC_EXECUTOR_EXECUTION_ID: "exec-1",
      CC_EXECUTOR_SESSION_ID: "sess-1",
      CC_EXECUTOR_COMMAND: "echo 'hi there'",
      CC_EXECUTOR_CWD: "/tmp",
    });
    expect(env.CC_EXECUTOR_HOOK_CONTEXT_FILE).toMatch(/context\.json$/);
    expect(existsSync(env.CC_EXECUTOR_HOOK_CONTEXT_FILE!)).toBe(false); // removed after the hook
    expect(env).not.toHaveProperty("CC_EXECUTOR_TOKEN");
    expect(env).not.toHaveProperty("CC_EXECUTOR_PROMPT");
    // Command hooks run in the config file's folder.
    expect(readFileSync(join(p.root, "pwd.txt"), "utf8").trim()).toBe(p.dir);
  });

  it("cuts CC_EXECUTOR_PROMPT to 4 KiB (at a character boundary) while stdin has the whole prompt", async () => {
    const p = project({ "pre-claude": { command: `printf %s "$CC_EXECUTOR_PROMPT" > "${"$"}OUT/prompt.txt"; cat > "${"$"}OUT/stdin.json"` } });
    process.env.OUT = p.root;
    const prompt = "é".repeat(3000) + "tail"; // 6004 bytes
    await p.load().run("pre-claude", { prompt });
    const cut = readFileSync(join(p.root, "prompt.txt"));
    expect(cut.length).toBe(4096);
    expect(prompt.startsWith(cut.toString("utf8"))).toBe(true);
    expect(JSON.parse(readFileSync(join(p.root, "stdin.json"), "utf8")).prompt).toBe(prompt);
  });

  it("post-event hooks get CC_EXECUTOR_EXIT_CODE and CC_EXECUTOR_STATUS from the result", async () => {
    const p = project({
      "post-execute": { command: `echo "$CC_EXECUTOR_EXIT_CODE $CC_EXECUTOR_STATUS" > "${"$"}OUT/post-execute.txt"` },
      "post-task": { command: `echo "$CC_EXECUTOR_EXIT_CODE $CC_EXECUTOR_STATUS $CC_EXECUTOR_TASK_ID" > "${"$"}OUT/post-task.txt"` },
    });
    process.env.OUT = p.root;
    const hooks = p.load();
    await hooks.run("post-execute", { result: { status: "failed", exitCode: 3 } });
    await hooks.run("post-task", { task: { id: "build" }, result: { status: "timeout", exit_code: 124 } });
    expect(readFileSync(join(p.root, "post-execute.txt"), "utf8")).toBe("3 failed\n");
    expect(readFileSync(join(p.root, "post-task.txt"), "utf8")).toBe("124 timeout build\n");
  });
});

describe("shell hooks: answers", () => {
  it("a pre hook refuses with {proceed:false}; later hooks do not run", async () => {
    const p = project({
      "pre-execute": [{ command: `echo "checking..."; echo '{"proceed": false, "message": "not today"}'` }, { command: `touch "${"$"}OUT/second-ran"` }],
    });
    process.env.OUT = p.root;
    const outcome = await p.load().run("pre-execute", { command: "ls" });
    expect(outcome).toMatchObject({ proceed: false, message: "not today", ran: 1 });
    expect(outcome.refusedBy).toMatch(/^pre-execute\[0\] /);
    expect(existsSync(join(p.root, "second-ran"))).toBe(false);
  });

  it("a pre hook refuses with exit code 2, stderr being the message (the rm -rf guard of docs/hooks.md)", async () => {
    const p = project({ "pre-execute": { command: "./no-rm-rf.sh" } });
    writeScript(
      join(p.dir, "no-rm-rf.sh"),
      `case "$CC_EXECUTOR_COMMAND" in\n  *"rm -rf"*) echo "refused: rm -rf is not allowed here" >&2; exit 2 ;;\nesac\nexit 0`,
    );
    const hooks = p.load();
    expect(await hooks.run("pre-execute", { command: "cd /tmp && rm -rf build" })).toMatchObject({ proceed: false, message: "refused: rm -rf is not allowed here" });
    expect(await hooks.run("pre-execute", { command: "ls -la" })).toMatchObject({ proceed: true, ran: 1, warnings: [] });
  });

  it("rewrites the command (pre-execute) and the prompt (pre-claude), and adds env entries", async () => {
    const p = project({
      "pre-execute": { command: `echo '{"command": "echo rewritten", "env": {"ADDED": "yes", "OTHER": "1"}}'` },
      "pre-claude": { command: `printf '{\\n  "prompt": "%s (be brief)"\\n}\\n' "$CC_EXECUTOR_PROMPT"` },
    });
    const hooks = p.load();
    const exec = await hooks.run("pre-execute", { command: "echo original" });
    expect(exec).toMatchObject({ proceed: true, command: "echo rewritten", env: { ADDED: "yes", OTHER: "1" } });
    const claude = await hooks.run("pre-claude", { prompt: "say hi" });
    expect(claude.prompt).toBe("say hi (be brief)"); // pretty-printed, multi-line JSON is read as a whole
    expect(claude.command).toBeUndefined();
  });

  it("chains hooks in order, each seeing the changes of the ones before", async () => {
    const p = project({
      "pre-execute": [
        { command: `printf '{"command": "%s --one", "env": {"STEP": "1"}}' "$CC_EXECUTOR_COMMAND"` },
        { command: "node ./second.mjs" },
        { module: "./third.mjs" },
      ],
    });
    // The second reads the JSON context on stdin: it must see the first one's command and env.
    writeFileSync(
      join(p.dir, "second.mjs"),
      `let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => { const c = JSON.parse(s); console.log(JSON.stringify({ command: c.command + " --two", env: { STEP: c.env.STEP + "2" } })); });\n`,
    );
    writeFileSync(join(p.dir, "third.mjs"), `export default (c) => ({ command: c.command + " --three", env: { STEP: c.env.STEP + "3", LAST: "m" } });\n`);
    const outcome = await p.load().run("pre-execute", { command: "base", env: { KEEP: "k" } });
    expect(outcome).toMatchObject({ proceed: true, ran: 3, warnings: [], command: "base --one --two --three" });
    expect(outcome.env).toEqual({ STEP: "123", LAST: "m" }); // only what hooks added; the caller merges
  });

  it("ignores plain output, and treats a malformed answer as a failure", async () => {
    const p = project({
      "pre-execute": [{ command: "echo just logging; echo '[1,2]'" }, { command: `echo '{"command": 42}'` }],
    });
    const outcome = await p.load().run("pre-execute", { command: "ls" });
    expect(outcome.proceed).toBe(true);
    expect(outcome.command).toBeUndefined();
    expect(outcome.warnings).toHaveLength(1);
    expect(outcome.warnings[0]).toMatch(/pre-execute\[1\] .*invalid answer: command: .*string/);
  });

  it("ignores (with a warning) changes an event does not allow", async () => {
    const p = project({ "pre-execute": { command: `echo '{"prompt": "nope"}'` }, "post-execute": { command: `echo '{"command": "nope", "env": {"A": "1"}}'` } });
    const hooks = p.load();
    const pre = await hooks.run("pre-execute", { command: "ls" });
    expect(pre.prompt).toBeUndefined();
    expect(pre.warnings).toEqual([expect.stringMatching(/"prompt" cannot be changed on pre-execute/)]);
    const post = await hooks.run("post-execute", { command: "ls" });
    expect(post.proceed).toBe(true);
    expect(post.command).toBeUndefined();
    expect(post.env).toBeUndefined();
    expect(post.warnings).toHaveLength(2);
  });
});

describe("shell hooks: failures", () => {
  it('on_error "warn": a failing hook is a warning and the chain goes on', async () => {
    const p = project({ "pre-execute": [{ command: "echo boom >&2; exit 1" }, { command: `touch "${"$"}OUT/second-ran"; echo '{"command": "after"}'` }] });
    process.env.OUT = p.root;
    const hooks = p.load();
    const outcome = await hooks.run("pre-execute", { command: "ls" });
    expect(outcome).toMatchObject({ proceed: true, ran: 2, command: "after" });
    expect(outcome.warnings).toEqual([expect.stringMatching(/^pre-execute\[0\] .*: exited with code 1: boom$/)]);
    expect(outcome.warningDetails[0]).toMatchObject({ event: "pre-execute", message: "exited with code 1: boom" });
    expect(existsSync(join(p.root, "second-ran"))).toBe(true);
    expect(hooks.status().last_errors).toEqual([expect.objectContaining({ event: "pre-execute", message: "exited with code 1: boom" })]);
  });

  it('on_error "block": a failing pre hook stops the action and the chain', async () => {
    const p = project({ "pre-execute": [{ command: "echo boom >&2; exit 1", on_error: "block" }, { command: `touch "${"$"}OUT/second-ran"` }] });
    process.env.OUT = p.root;
    const outcome = await p.load().run("pre-execute", { command: "ls" });
    expect(outcome).toMatchObject({ proceed: false, ran: 1 });
    expect(outcome.message).toMatch(/failed: exited with code 1: boom/);
    expect(existsSync(join(p.root, "second-ran"))).toBe(false);
  });

  it("a hook that times out is killed with its whole process group", async () => {
    const bg = uniqueSleep();
    const fg = uniqueSleep();
    const p = project({ "pre-execute": { command: "./slow.sh", timeout: 1, on_error: "block" } });
    writeScript(join(p.dir, "slow.sh"), `echo $$ > "${p.root}/pid"\nsleep ${bg} &\nsleep ${fg}`);
    const started = Date.now();
    const running = p.load().run("pre-execute", { command: "ls" });
    // Both sleeps really ran (so the check below can fail).
    await waitUntil(() => psLines().filter((l) => l.args === `sleep ${bg}` || l.args === `sleep ${fg}`).length === 2, 5000, "the hook's sleeps");
    const outcome = await running;
    expect(Date.now() - started).toBeLessThan(6000);
    expect(outcome).toMatchObject({ proceed: false });
    expect(outcome.message).toMatch(/timed out after 1s/);
    const hookPid = Number(readFileSync(join(p.root, "pid"), "utf8"));
    expect(hookPid).toBeGreaterThan(1);
    const left = psLines().filter((l) => l.pgid === hookPid || l.args.includes(bg) || l.args.includes(fg));
    expect(left).toEqual([]);
  });

  it("post-event hooks never block, whatever they answer or however they fail", async () => {
    const p = project({
      "post-execute": [
        { command: "exit 1", on_error: "block" },
        { command: "echo no >&2; exit 2", on_error: "block" },
        { command: `echo '{"proceed": false, "message": "too late"}'` },
        { command: "sleep 5", timeout: 0.5, on_error: "block" },
        { command: `touch "${"$"}OUT/last-ran"` },
      ],
    });
    process.env.OUT = p.root;
    const outcome = await p.load().run("post-execute", { command: "ls", result: { status: "completed", exit_code: 0 } });
    expect(outcome).toMatchObject({ proceed: true, ran: 5 });
    expect(outcome.message).toBeUndefined();
    expect(outcome.warnings).toHaveLength(3);
    expect(outcome.warnings[1]).toMatch(/exited with code 2: no/);
    expect(outcome.warnings[2]).toMatch(/timed out/);
    // proceed:false after the fact does not block: it reports a rejection the caller may act on
    expect(outcome.rejected).toEqual({ hook: expect.stringContaining("post-execute"), message: "too late" });
    expect(existsSync(join(p.root, "last-ran"))).toBe(true);
  });
});
