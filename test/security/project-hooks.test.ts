import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { RawPeer } from "../helpers/server.js";
import { spawnServerIn, type SpawnedServer } from "./helpers.js";

/**
 * A task that can only write files in the project (claude with edit rights, a build step, a
 * dependency's install script) plants .cc-executor/hooks.json; hooks are re-read at every command.
 * Planted or changed project hooks must not run until the user trusts that exact content.
 */
describe("project hooks run only once the user trusted that exact content", { timeout: 120_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), "cce-trust-"));
  const checkout = join(root, "checkout");
  const home = join(root, "home");
  const hooksFile = join(checkout, ".cc-executor", "hooks.json");
  const env = { CC_EXECUTOR_HOME: home };
  let server: SpawnedServer;
  let peer: RawPeer;
  let token: string;
  let nextId = 1;

  beforeAll(async () => {
    mkdirSync(checkout, { recursive: true });
    server = await spawnServerIn({ cwd: checkout, args: ["--home", home] });
    token = readFileSync(join(home, "token"), "utf8").trim();
    peer = await RawPeer.open(`ws://127.0.0.1:${server.port}/ws/mcp`, { token });
    await peer.waitFor((m) => m.method === "connected");
  });
  afterAll(async () => {
    await peer?.close();
    await server?.stop();
  });

  /** Runs a command in the checkout through the server; returns the hook warnings it got. */
  async function execute(command: string): Promise<string[]> {
    const id = nextId++;
    const answer = await peer.request(id, "execute", { command, cwd: checkout, timeout: 20 });
    if (answer.error) return [`error: ${answer.error.message}`];
    const executionId = answer.result.execution_id;
    await peer.waitFor((m) => m.method === "process.completed" && m.params.execution_id === executionId);
    return peer.notifications("hook.warning").filter((m) => m.params.execution_id === executionId).map((m) => String(m.params.message));
  }

  /** What a task that only writes files does: it writes files (here through the server, as a command or claude would). */
  async function taskWrites(path: string, text: string): Promise<void> {
    mkdirSync(join(path, ".."), { recursive: true });
    const b64 = Buffer.from(text).toString("base64");
    expect(await execute(`mkdir -p "$(dirname '${path}')" && printf %s '${b64}' | base64 -d > '${path}'`)).toEqual(expect.any(Array));
  }

  const marker = (name: string) => join(checkout, name);

  it("a planted hooks.json does not run at the next command; the warning says how to trust it", async () => {
    await taskWrites(hooksFile, JSON.stringify({ hooks: { "pre-execute": { command: `id > ${marker("planted-ran.txt")}` } } }));
    const warnings = await execute("echo next-command");
    expect(existsSync(marker("planted-ran.txt"))).toBe(false);
    expect(warnings).toEqual([expect.stringContaining(`${hooksFile} is not trusted, so its hooks do not run; review it, then run: cc-executor hooks trust ${hooksFile}`)]);
    const list = JSON.parse((await runCli(["hooks", "list", "--json"], { env, cwd: checkout })).stdout);
    expect(list).toMatchObject({ config_path: null, untrusted: { path: hooksFile }, trusted: [] });
  });

  it("after `cc-executor hooks trust` it runs; a change to it stops it again", async () => {
    const trust = await runCli(["hooks", "trust"], { env, cwd: checkout });
    expect(trust.code).toBe(0);
    expect(trust.stderr).toContain(`trusted ${hooksFile}`);
    expect(await execute("echo trusted-now")).toEqual([]);
    expect(existsSync(marker("planted-ran.txt"))).toBe(true);

    await taskWrites(hooksFile, JSON.stringify({ hooks: { "pre-execute": { command: `id > ${marker("changed-ran.txt")}` } } }));
    rmSync(marker("planted-ran.txt")); // the trusted version ran once more, before the write
    const warnings = await execute("echo after-change");
    expect(existsSync(marker("changed-ran.txt"))).toBe(false);
    expect(existsSync(marker("planted-ran.txt"))).toBe(false);
    expect(warnings).toEqual([expect.stringMatching(/changed since you trusted it/)]);
  });

  it("a trusted module hook whose module file is rewritten (even with its old mtime put back) does not run", async () => {
    const guard = join(checkout, ".cc-executor", "guard.mjs");
    writeFileSync(guard, "export default () => undefined;\n");
    writeFileSync(hooksFile, JSON.stringify({ hooks: { "pre-execute": { module: "./guard.mjs" } } }));
    expect((await runCli(["hooks", "trust", hooksFile], { env, cwd: root })).code).toBe(0);
    expect(await execute("echo module-trusted")).toEqual([]);

    const { atime, mtime } = statSync(guard);
    await taskWrites(guard, `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(marker("module-ran.txt"))}, "ran");\nexport default () => undefined;\n`);
    utimesSync(guard, atime, mtime);
    const warnings = await execute("echo module-changed");
    expect(existsSync(marker("module-ran.txt"))).toBe(false);
    expect(warnings).toEqual([expect.stringContaining(`changed since you trusted it (${guard})`)]);
  });

  it("a trusted command hook naming a script in the project: a rewritten script does not run", async () => {
    const script = join(checkout, ".cc-executor", "check.sh");
    writeFileSync(script, "#!/bin/sh\ntrue\n", { mode: 0o755 });
    writeFileSync(hooksFile, JSON.stringify({ hooks: { "pre-execute": { command: "./check.sh" } } }));
    expect((await runCli(["hooks", "trust"], { env, cwd: checkout })).code).toBe(0);
    expect(await execute("echo script-trusted")).toEqual([]);
    await taskWrites(script, `#!/bin/sh\nid > ${marker("script-ran.txt")}\n`);
    const warnings = await execute("echo script-changed");
    expect(existsSync(marker("script-ran.txt"))).toBe(false);
    expect(warnings).toEqual([expect.stringContaining(`(${script})`)]);
  });

  it("while the project's file is not trusted the user's own hooks.json runs; hooks list shows the state; untrust stops a trusted file", async () => {
    writeFileSync(join(home, "hooks.json"), JSON.stringify({ hooks: { "pre-execute": { command: `touch ${marker("home-hook-ran.txt")}` } } }));
    await execute("echo with-home-hooks");
    expect(existsSync(marker("home-hook-ran.txt"))).toBe(true);
    const list = JSON.parse((await runCli(["hooks", "list", "--json"], { env, cwd: checkout })).stdout);
    expect(list.config_path).toBe(join(home, "hooks.json"));
    expect(list.trusted).toEqual([{ path: hooksFile, state: "changed", files: [hooksFile, join(checkout, ".cc-executor", "check.sh")], trusted_at: expect.any(String) }]);

    expect((await runCli(["hooks", "trust"], { env, cwd: checkout })).code).toBe(0);
    expect(JSON.parse((await runCli(["hooks", "list", "--json"], { env, cwd: checkout })).stdout).config_path).toBe(hooksFile);
    const untrust = await runCli(["hooks", "untrust", "--json"], { env, cwd: checkout });
    expect(JSON.parse(untrust.stdout)).toEqual({ path: hooksFile, removed: true });
    expect(JSON.parse((await runCli(["hooks", "list", "--json"], { env, cwd: checkout })).stdout)).toMatchObject({ config_path: join(home, "hooks.json"), trusted: [] });
    // the trust record lives in the user's state directory, private
    expect(statSync(join(home, "trusted-hooks.json")).mode & 0o777).toBe(0o600);
  });

  it("hooks trust refuses an invalid file (nothing to review) and a missing one", async () => {
    writeFileSync(hooksFile, `{"hooks": {"pre-exec": []}}`);
    const invalid = await runCli(["hooks", "trust"], { env, cwd: checkout });
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/not trusted: .*pre-exec/);
    const missing = await runCli(["hooks", "trust", join(root, "nope.json")], { env, cwd: checkout });
    expect(missing.code).toBe(2);
  });
});
