import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExecutorClient } from "../../src/client/index.js";
import { CLI, runCli } from "../helpers/cli.js";
import { FAKE_CLAUDE } from "../helpers/fake-claude.js";
import { startTestServer } from "../helpers/server.js";
import { randomPort, spawnServerIn } from "./helpers.js";

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe("the state directory: 0700, entries private, tightened at every start, checked by doctor", { timeout: 120_000 }, () => {
  it("a loosened state directory (755, token 644, config.env 644, servers/ 755, db 644) is tightened by the next start", async () => {
    const home = mkdtempSync(join(tmpdir(), "cce-perm-"));
    writeFileSync(join(home, "token"), "loose-token-0123456789abcdef\n");
    writeFileSync(join(home, "config.env"), "STREAM_TIMEOUT=60\n");
    writeFileSync(join(home, "cc-executor.db"), "");
    writeFileSync(join(home, "guard.sh"), "#!/bin/sh\n");
    mkdirSync(join(home, "servers"));
    for (const [path, m] of [[home, 0o755], [join(home, "token"), 0o644], [join(home, "config.env"), 0o644], [join(home, "cc-executor.db"), 0o644], [join(home, "guard.sh"), 0o755], [join(home, "servers"), 0o755]] as const) chmodSync(path, m);

    const before = await runCli(["doctor", "--json"], { env: { CC_EXECUTOR_HOME: home, CC_EXECUTOR_PORT: String(randomPort()) } });
    const perm = JSON.parse(before.stdout).checks.find((c: { name: string }) => c.name === "permissions");
    expect(perm).toMatchObject({ status: "fail", detail: expect.stringContaining(`${home} mode 755`) });
    expect(perm.detail).toContain(`${join(home, "config.env")} mode 644`);

    const server = await startTestServer({ home });
    try {
      expect([mode(home), mode(join(home, "token")), mode(join(home, "config.env")), mode(join(home, "cc-executor.db")), mode(join(home, "servers"))]).toEqual(["700", "600", "600", "600", "700"]);
      expect(mode(join(home, "guard.sh"))).toBe("700"); // an executable stays executable, for its owner only
      const after = await runCli(["doctor", "--json"], { env: { CC_EXECUTOR_HOME: home, CC_EXECUTOR_PORT: String(server.port) } });
      expect(JSON.parse(after.stdout).checks.find((c: { name: string }) => c.name === "permissions")).toMatchObject({ status: "ok" });
    } finally {
      await server.close();
    }
  });

  it("what a run creates in a fresh state directory is private from the start (database, runs, worktrees): the next start has nothing to tighten", async () => {
    const home = mkdtempSync(join(tmpdir(), "cce-fresh-"));
    const repo = mkdtempSync(join(tmpdir(), "cce-repo-"));
    const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", ...args], { cwd: repo });
    git("init", "-q");
    writeFileSync(join(repo, "plan.md"), "### Task 1: one\nSay one.\n\n## Phase Pair: parallel\n\n### Task 2: two\nSay two. [fake-write:two.txt=2]\n\n### Task 3: three\nSay three. [fake-write:three.txt=3]\n");
    git("add", ".");
    git("commit", "-qm", "plan");
    const env = { CC_EXECUTOR_HOME: home, CC_EXECUTOR_PORT: String(randomPort()), CLAUDE_BIN: FAKE_CLAUDE };
    const first = await runCli(["tasks", "run", "plan.md"], { env, cwd: repo, timeoutMs: 60_000 });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/worktree, branch/); // the parallel tasks ran in worktrees under the state directory
    // The state directory and its entries (what a start tightens; what is below them is behind these 0700 folders).
    const loose = execFileSync("find", [home, "-maxdepth", "1", "-perm", "/077", "-not", "-type", "l"], { encoding: "utf8" });
    expect(loose).toBe("");
    const second = await runCli(["tasks", "run", "plan.md"], { env, cwd: repo, timeoutMs: 60_000 });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/tightened/);
  });

  it.skipIf(process.geteuid?.() !== 0)("a state directory owned by another user is refused at start (its owner could read the token or plant hooks)", async () => {
    const home = mkdtempSync(join(tmpdir(), "cce-owner-"));
    chownSync(home, 65534, 65534);
    const r = await runCli(["server", "start", "--home", home, "--port", String(randomPort())]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/belongs to uid 65534, not to you/);
    const doctor = await runCli(["doctor", "--json"], { env: { CC_EXECUTOR_HOME: home } });
    expect(JSON.parse(doctor.stdout).checks.find((c: { name: string }) => c.name === "permissions")).toMatchObject({ status: "fail", detail: expect.stringContaining("owned by uid 65534") });
  });
});

describe("the dashboard link with the token is printed only to a terminal", () => {
  it("stderr to a pipe or a log: the link has no token", async () => {
    const home = mkdtempSync(join(tmpdir(), "cce-tty-"));
    const server = await spawnServerIn({ cwd: home, args: ["--home", home] });
    const token = readFileSync(join(home, "token"), "utf8").trim();
    const out = await server.stop();
    expect(out.stderr).toMatch(/dashboard: http:\/\/127\.0\.0\.1:\d+\/ \(paste the token from/);
    expect(out.stderr + out.stdout).not.toContain(token);
  });

  it("on a terminal (a pty from script(1)): the link carries the token in its #fragment", async () => {
    const home = mkdtempSync(join(tmpdir(), "cce-tty-"));
    const port = randomPort();
    const cmd = `timeout -s INT 8 ${process.execPath} ${CLI} server start --home ${home} --port ${port}`;
    // timeout(1) interrupts the server after 8 s (exit 124): only what it printed matters
    const out = spawnSync("script", ["-qfec", cmd, "/dev/null"], { env: { ...process.env, NO_COLOR: "1" }, encoding: "utf8", timeout: 60_000 }).stdout;
    const token = readFileSync(join(home, "token"), "utf8").trim();
    expect(out).toContain(`dashboard: http://127.0.0.1:${port}/#token=${encodeURIComponent(token)}`);
  });
});

describe("a non-loopback bind needs TLS, or an explicit acceptance of plain text", { timeout: 120_000 }, () => {
  it("--host 0.0.0.0 without TLS is refused (exit 2); --allow-plaintext starts it, with a warning", async () => {
    const home = mkdtempSync(join(tmpdir(), "cce-bind-"));
    const refused = await runCli(["server", "start", "--host", "0.0.0.0", "--port", String(randomPort()), "--home", home]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without TLS.*--tls-cert and --tls-key.*--allow-plaintext/);
    const plain = await spawnServerIn({ cwd: home, args: ["--home", home, "--host", "0.0.0.0", "--allow-plaintext"] });
    const out = await plain.stop();
    expect(out.stderr).toMatch(/without TLS \(--allow-plaintext\): the token and every command cross the network in clear text/);
  });

  it("with a certificate and key it serves https and wss; clients check the certificate", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cce-tls-"));
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], { stdio: "ignore" });
    const ca = readFileSync(cert);
    const server = await startTestServer({ host: "0.0.0.0", tlsCert: cert, tlsKey: key });
    try {
      expect(server.url).toMatch(/^wss:\/\/0\.0\.0\.0:\d+\/ws\/mcp$/);
      const url = `wss://127.0.0.1:${server.port}/ws/mcp`;
      const client = await ExecutorClient.connect({ url, token: server.token, ca });
      expect((await client.execute("printf over-tls")).stdout).toBe("over-tls");
      await client.close();
      // an unknown self-signed certificate is refused; plain http gets no answer from a TLS port
      await expect(ExecutorClient.connect({ url, token: server.token, reconnect: false })).rejects.toThrow(/self.signed|certificate/i);
      await expect(fetch(`http://127.0.0.1:${server.port}/health`)).rejects.toThrow();
      // the CLI on this machine finds the server's own certificate through the runtime file
      const env = { CC_EXECUTOR_HOME: server.home, CC_EXECUTOR_PORT: String(server.port), CC_EXECUTOR_TOKEN: "" };
      const status = await runCli(["server", "status", "--host", "0.0.0.0", "--json"], { env });
      expect(JSON.parse(status.stdout)).toMatchObject({ status: "healthy", tls: true, pid: process.pid });
      const run = await runCli(["run", "--no-local", "printf cli-over-tls"], { env });
      expect([run.code, run.stdout]).toEqual([0, "cli-over-tls"]);
    } finally {
      await server.cleanup();
    }
  });

  it("a certificate without its key is a configuration error", async () => {
    await expect(startTestServer({ tlsCert: "/nonexistent.pem" })).rejects.toThrow(/both a certificate and its key/);
  });
});
