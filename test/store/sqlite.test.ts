import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { statePaths } from "../../src/paths.js";
import { openStore, SqliteStore } from "../../src/store/index.js";
import { MIGRATIONS } from "../../src/store/sqlite-migrations.js";
import { describeStoreContract } from "./contract.js";

const dir = mkdtempSync(join(tmpdir(), "cce-sqlite-"));
let n = 0;
const freshFile = () => join(dir, `db-${process.pid}-${n++}`, "store.db");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeStoreContract("sqlite", async () => new SqliteStore({ file: freshFile() }));

describe("SqliteStore", () => {
  it("uses WAL with synchronous=NORMAL", async () => {
    const store = new SqliteStore({ file: freshFile() });
    const db = new Database(store.file, { readonly: true });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
    await store.close();
  });

  it("keeps a record written by a process that is then killed with SIGKILL", async () => {
    const file = freshFile();
    const fixture = fileURLToPath(new URL("./fixtures/write-then-hang.ts", import.meta.url));
    const child = spawn(process.execPath, ["--import", "tsx", fixture, file, "killed-1"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child did not write: ${err}`)), 20_000);
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("written")) (clearTimeout(timer), resolve());
      });
      child.once("exit", (code) => (clearTimeout(timer), reject(new Error(`child exited ${code}: ${err}`))));
    });
    const exit = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
    child.kill("SIGKILL");
    expect(await exit).toBe("SIGKILL");
    // The WAL is still there, un-checkpointed: what we read comes from a crashed writer's log.
    expect(existsSync(`${file}-wal`)).toBe(true);

    const store = new SqliteStore({ file });
    expect(await store.getExecution("killed-1")).toMatchObject({ status: "completed", duration_ms: 2500, exit_code: 0 });
    expect((await store.getTaskListRun("run-killed-1"))?.tasks_done).toBe(1);
    await store.close();
  });

  it("applies migrations once: reopening keeps the data and the version", async () => {
    const file = freshFile();
    const a = new SqliteStore({ file });
    expect(a.schemaVersion).toBe(MIGRATIONS.length);
    await a.recordExecutionStart({ id: "x", kind: "command", label: "ls", digest: "d", category: "cmd:ls", started_at: 5 });
    await a.close();
    const b = new SqliteStore({ file });
    expect(b.schemaVersion).toBe(MIGRATIONS.length);
    expect((await b.getExecution("x"))?.label).toBe("ls");
    // Two stores on one file at once (server and CLI) work too.
    const c = new SqliteStore({ file });
    await c.recordExecutionEnd("x", { status: "completed", ended_at: 10 });
    expect((await b.getExecution("x"))?.duration_ms).toBe(5);
    await b.close();
    await c.close();
  });

  it("refuses a database from a newer schema instead of corrupting it", async () => {
    const file = freshFile();
    await new SqliteStore({ file }).close();
    const db = new Database(file);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => new SqliteStore({ file })).toThrow(/newer/);
  });

  it("openStore without a Redis URL opens the SQLite file in the state directory", async () => {
    const home = join(dir, `home-${n++}`);
    const store = await openStore({ home });
    expect(await store.health()).toMatchObject({ backend: "sqlite", status: "ok", detail: statePaths(home).sqliteFile });
    expect(existsSync(statePaths(home).sqliteFile)).toBe(true);
    await store.close();
  });

  it("reports degraded instead of throwing once closed", async () => {
    const store = new SqliteStore({ file: freshFile() });
    await store.close();
    expect((await store.health()).status).toBe("degraded");
  });
});
