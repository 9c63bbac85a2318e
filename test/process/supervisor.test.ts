import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { GroupRegistry, readJournal, startProcess, SpawnError, type OutputChunk } from "../../src/process/index.js";
import { liveGroupMembers, liveSleeps, processTable, recordedGroups, uniqueSleep, waitUntil } from "../helpers/procs.js";
import { requireTool } from "../helpers/tools.js";

function collect(proc: { on(e: "output", f: (c: OutputChunk) => void): unknown }): OutputChunk[] {
  const chunks: OutputChunk[] = [];
  proc.on("output", (c) => chunks.push(c));
  return chunks;
}

describe("supervisor", () => {
  it("streams stdout and stderr in order and reports the exit code", async () => {
    const proc = await startProcess({ command: "echo one; echo two >&2; echo three; exit 3" });
    const chunks = collect(proc);
    const result = await proc.done;
    expect(result.status).toBe("failed");
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe("one\nthree\n");
    expect(result.stderr).toBe("two\n");
    expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
    expect(chunks.filter((c) => c.stream === "stdout").map((c) => c.data).join("")).toBe("one\nthree\n");
  });

  it("reports exit 0 as completed", async () => {
    const result = await (await startProcess({ command: ["node", "-e", "process.stdout.write('ok')"] })).done;
    expect(result).toMatchObject({ status: "completed", exitCode: 0, stdout: "ok" });
  });

  it("runs each command in its own process group with stdin at /dev/null and PYTHONUNBUFFERED=1", async () => {
    const proc = await startProcess({ command: "ps -o pgid= -p $$; readlink /proc/self/fd/0; echo $PYTHONUNBUFFERED; cat" });
    const result = await proc.done;
    const [pgid, stdin, unbuffered] = result.stdout.trim().split("\n").map((s) => s.trim());
    expect(Number(pgid)).toBe(proc.pid);
    expect(proc.pgid).toBe(proc.pid);
    expect(stdin).toBe("/dev/null");
    expect(unbuffered).toBe("1");
    expect(result.status).toBe("completed"); // cat read EOF at once: stdin is closed
  });

  it("passes cwd and env, and removes the variables it is told to hide", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cce-cwd-"));
    process.env.CCE_SECRET_FOR_TEST = "s3cret";
    try {
      const result = await (await startProcess({ command: "pwd; echo $FOO; echo x${CCE_SECRET_FOR_TEST}x", cwd: dir, env: { FOO: "bar" }, removeEnv: ["CCE_SECRET_FOR_TEST"] })).done;
      expect(result.stdout).toBe(`${dir}\nbar\nxx\n`);
    } finally {
      delete process.env.CCE_SECRET_FOR_TEST;
    }
  });

  it("runs argv without a shell: metacharacters reach the program untouched", async () => {
    const hostile = `$(touch /tmp/pwned) \`id\` "quoted" 'single' ; | & \n é 日本`;
    const result = await (await startProcess({ command: ["node", "-e", "process.stdout.write(process.argv[1])", hostile] })).done;
    expect(result.stdout).toBe(hostile);
  });

  it("rejects a missing cwd and a missing binary with clear errors", async () => {
    await expect(startProcess({ command: "true", cwd: "/nonexistent/dir" })).rejects.toThrow(/cwd does not exist/);
    await expect(startProcess({ command: ["/nonexistent/binary"] })).rejects.toBeInstanceOf(SpawnError);
    await expect(startProcess({ command: ["/nonexistent/binary"] })).rejects.toThrow(/command not found: \/nonexistent\/binary/);
  });

  it("uses the requested shell", async () => {
    const bash = await (await startProcess({ command: "echo $BASH_VERSION", shell: "bash" })).done;
    expect(bash.stdout.trim()).not.toBe("");
    requireTool("zsh", "zsh");
    const zsh = await (await startProcess({ command: "echo $ZSH_VERSION", shell: "zsh" })).done;
    expect(zsh.stdout.trim()).toMatch(/^\d/);
  });

  it("never splits a UTF-8 character, even when the bytes arrive in separate writes", async () => {
    // é = c3 a9, 日 = e6 97 a5, 😀 = f0 9f 98 80, each written byte by byte with pauses.
    const cmd = String.raw`printf '\303'; sleep 0.05; printf '\251'; sleep 0.05; printf '\346\227'; sleep 0.05; printf '\245\360'; sleep 0.05; printf '\237\230'; sleep 0.05; printf '\200'`;
    const proc = await startProcess({ command: cmd, shell: "bash" });
    const chunks = collect(proc);
    await proc.done;
    expect(chunks.map((c) => c.data).join("")).toBe("é日😀");
    for (const c of chunks) expect(c.data).not.toContain("\ufffd");
  });

  it("cuts big reads into chunks of at most chunkBytes and keeps a bounded tail marked truncated", async () => {
    const proc = await startProcess({ command: ["node", "-e", "process.stdout.write('é'.repeat(300000))"], chunkBytes: 1000, maxBufferBytes: 10_000 });
    const chunks = collect(proc);
    const result = await proc.done;
    for (const c of chunks) expect(Buffer.byteLength(c.data)).toBeLessThanOrEqual(1000);
    expect(chunks.map((c) => c.data).join("")).toBe("é".repeat(300000));
    expect(result.stdoutBytes).toBe(600000);
    expect(result.truncated).toBe(true);
    expect(Buffer.byteLength(result.stdout)).toBeLessThanOrEqual(10_000);
    expect(result.stdout).toBe("é".repeat(5000));
    expect(chunks.at(-1)!.truncated).toBe(true);
  });

  it("keepTail: false streams everything, keeps no tail, and still counts bytes and reports truncated", async () => {
    const big = await startProcess({ command: ["node", "-e", "process.stdout.write('x'.repeat(50000)); process.stderr.write('err')"], maxBufferBytes: 10_000, keepTail: false });
    const chunks = collect(big);
    const result = await big.done;
    expect(chunks.filter((c) => c.stream === "stdout").map((c) => c.data).join("")).toBe("x".repeat(50000));
    expect(result).toMatchObject({ stdout: "", stderr: "", stdoutBytes: 50000, stderrBytes: 3, truncated: true });
    const small = await startProcess({ command: ["echo", "hi"], maxBufferBytes: 10_000, keepTail: false });
    expect(await small.done).toMatchObject({ stdout: "", stdoutBytes: 3, truncated: false });
  });

  it("delivers 100 MB intact", async () => {
    const proc = await startProcess({ command: ["node", "-e", "const b=Buffer.alloc(1<<20);for(let i=0;i<b.length;i++)b[i]=97+(i%26);let n=0;(function w(){while(n<100){n++;if(!process.stdout.write(b))return process.stdout.once('drain',w)}})()"] });
    const hash = createHash("sha256");
    let bytes = 0;
    proc.on("output", (c) => {
      hash.update(c.data);
      bytes += Buffer.byteLength(c.data);
    });
    const result = await proc.done;
    const expected = createHash("sha256");
    const b = Buffer.alloc(1 << 20);
    for (let i = 0; i < b.length; i++) b[i] = 97 + (i % 26);
    for (let i = 0; i < 100; i++) expected.update(b);
    expect(result.status).toBe("completed");
    expect(bytes).toBe(100 * (1 << 20));
    expect(hash.digest("hex")).toBe(expected.digest("hex"));
  }, 60_000);

  it("timeout kills the whole group, grandchildren included, and reports timeout", async () => {
    const s1 = uniqueSleep();
    const s2 = uniqueSleep();
    const proc = await startProcess({ command: `sleep ${s1} & (sleep ${s2} &); sleep ${s1}`, timeoutMs: 500, killGraceMs: 1000 });
    await waitUntil(() => liveSleeps(s2).length === 1, 5000, "grandchild started");
    const result = await proc.done;
    expect(result.status).toBe("timeout");
    expect(result.timeoutReason).toBe("timeout");
    expect(result.exitCode === 0 && result.status !== "timeout").toBe(false);
    expect(liveSleeps(s1)).toEqual([]);
    expect(liveSleeps(s2)).toEqual([]);
    expect(liveGroupMembers(proc.pgid)).toEqual([]);
  });

  it("a child that ignores SIGTERM is SIGKILLed after the grace period", async () => {
    const s = uniqueSleep();
    const proc = await startProcess({ command: `trap '' TERM; sleep ${s}; true`, shell: "bash", timeoutMs: 300, killGraceMs: 500 });
    const result = await proc.done;
    expect(result.status).toBe("timeout");
    expect(result.signal).toBe("SIGKILL");
    expect(liveSleeps(s)).toEqual([]);
  });

  it("inactivity timeout fires when there is no output, not while output flows", async () => {
    const quiet = await (await startProcess({ command: `sleep ${uniqueSleep(5)}`, inactivityTimeoutMs: 300, killGraceMs: 500 })).done;
    expect(quiet).toMatchObject({ status: "timeout", timeoutReason: "inactivity" });
    const chatty = await (await startProcess({ command: "for i in 1 2 3 4 5 6; do echo $i; sleep 0.1; done", inactivityTimeoutMs: 400 })).done;
    expect(chatty.status).toBe("completed");
  });

  it("cancel kills the group and reports canceled", async () => {
    const s = uniqueSleep();
    const proc = await startProcess({ command: `sleep ${s} & sleep ${s}` });
    await waitUntil(() => liveSleeps(s).length === 2, 5000, "sleeps started");
    const result = await proc.cancel();
    expect(result.status).toBe("canceled");
    expect(liveSleeps(s)).toEqual([]);
  });

  it("pause stops the whole group and resume continues it", async () => {
    const s = uniqueSleep();
    const proc = await startProcess({ command: `sleep ${s} & for i in $(seq 1 40); do echo $i; sleep 0.05; done; kill %1` , shell: "bash" });
    const chunks = collect(proc);
    await waitUntil(() => chunks.length > 0, 5000, "first output");
    expect(proc.pause()).toBe(true);
    const members = () => liveGroupMembers(proc.pgid);
    await waitUntil(() => members().length > 0 && members().every((p) => p.state === "T"), 5000, "group stopped");
    const seen = chunks.length;
    await new Promise((r) => setTimeout(r, 400));
    expect(chunks.length).toBe(seen);
    expect(proc.pause()).toBe(false);
    expect(proc.resume()).toBe(true);
    const result = await proc.done;
    expect(result.status).toBe("completed");
    expect(result.stdout.trim().split("\n")).toHaveLength(40);
  });

  it("time spent paused does not count against the timeout", async () => {
    const proc = await startProcess({ command: "sleep 0.6; echo done", timeoutMs: 1000 });
    proc.pause();
    await new Promise((r) => setTimeout(r, 1200));
    proc.resume();
    expect((await proc.done).status).toBe("completed");
  });

  it("kills what the command left running in its group when the leader exits", async () => {
    const s = uniqueSleep();
    const result = await (await startProcess({ command: `sleep ${s} & echo started` })).done;
    expect(result.status).toBe("completed");
    expect(liveSleeps(s)).toEqual([]);
  });

  it("finishes even when a daemon that left the group holds the pipes, and says what it cannot reap", async () => {
    const s = uniqueSleep();
    const proc = await startProcess({ command: `setsid sleep ${s} & echo out`, drainTimeoutMs: 300 });
    const result = await proc.done;
    expect(result.status).toBe("completed");
    expect(result.stdout).toBe("out\n");
    // A process in its own session is outside our group: documented as not reaped. Clean up here.
    for (const p of liveSleeps(s)) process.kill(p.pid, "SIGKILL");
  });

  it("records each live execution in the registry's journal and removes the record when its processes are gone", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cce-reg-"));
    const registry = new GroupRegistry(dir);
    const s = uniqueSleep();
    const proc = await startProcess({ command: `sleep ${s}`, registry });
    await registry.journal.flushed();
    expect(readdirSync(dir)).toEqual([basename(registry.journal.file)]);
    expect(readJournal(registry.journal.file)!.records.map((r) => r.pgid)).toEqual([proc.pgid]);
    expect(recordedGroups(dir)).toEqual([proc.pgid]);
    await proc.cancel();
    // (with a cgroup, the record goes once the kernel let the cgroup be removed, just after the result)
    await waitUntil(() => registry.list().length === 0, 5000, "the record dropped");
    await registry.journal.flushed();
    expect(readJournal(registry.journal.file)!.records).toEqual([]);
    expect(processTable().some((p) => p.cmdline.includes(s) && p.state !== "Z")).toBe(false);
  });
});
