import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { digestOf, LABEL_MAX, type ExecutionStart, type Store, type TaskListRun } from "../../src/store/index.js";

/**
 * The behaviour every Store backend must have. `name` is the backend ("sqlite" or "redis"). Each test gets a fresh, empty store from
 * makeStore (a new SQLite file, or a new Redis key prefix) and closes it afterwards.
 */
export function describeStoreContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    // Realistic times (an hour ago onwards), 1 s apart per step, so ordering is unambiguous.
    const T0 = Math.floor(Date.now() / 1000) * 1000 - 3600_000;

    const exec = (id: string, i: number, extra: Partial<ExecutionStart> = {}): ExecutionStart => ({
      id,
      kind: "command",
      label: `echo ${id}`,
      digest: digestOf(`echo ${id}`),
      category: "cmd:echo",
      started_at: T0 + i * 1000,
      ...extra,
    });

    const run = (id: string, i: number, extra: Partial<TaskListRun> = {}): TaskListRun => ({
      run_id: id,
      name: `list ${id}`,
      source: `/tmp/${id}.md`,
      status: "running",
      started_at: T0 + i * 1000,
      tasks_total: 3,
      tasks_done: 0,
      tasks_failed: 0,
      checkpoint_path: `/tmp/${id}.checkpoint.json`,
      ...extra,
    });

    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    it("records a start that reads back as running, with every field", async () => {
      await store.recordExecutionStart(
        exec("a", 1, { kind: "claude", session_id: "s1", timeout_s: 900, timeout_basis: "history", task_list_run_id: "r1", artifacts: { transcript: "/x/t.jsonl" } }),
      );
      expect(await store.getExecution("a")).toEqual({
        id: "a",
        kind: "claude",
        label: "echo a",
        digest: digestOf("echo a"),
        category: "cmd:echo",
        session_id: "s1",
        started_at: T0 + 1000,
        status: "running",
        timeout_s: 900,
        timeout_basis: "history",
        task_list_run_id: "r1",
        artifacts: { transcript: "/x/t.jsonl" },
      });
      expect(await store.getExecution("nope")).toBeUndefined();
    });

    it("records an end: status, times, usage, merged artifacts, boolean uuid_verified", async () => {
      await store.recordExecutionStart(exec("a", 1, { artifacts: { transcript: "/t" } }));
      await store.recordExecutionEnd("a", {
        status: "failed",
        ended_at: T0 + 3500,
        exit_code: 2,
        error_type: "rate_limit",
        input_tokens: 10,
        output_tokens: 20,
        cost_usd: 0.0123,
        uuid_verified: false,
        artifacts: { result: "/r" },
      });
      const rec = await store.getExecution("a");
      expect(rec).toMatchObject({
        status: "failed",
        ended_at: T0 + 3500,
        duration_ms: 2500,
        exit_code: 2,
        error_type: "rate_limit",
        input_tokens: 10,
        output_tokens: 20,
        cost_usd: 0.0123,
        uuid_verified: false,
        artifacts: { transcript: "/t", result: "/r" },
      });
      expect(rec?.label).toBe("echo a");
    });

    it("defaults ended_at to now and keeps an explicit duration", async () => {
      await store.recordExecutionStart(exec("a", 0, { started_at: Date.now() - 5000 }));
      const before = Date.now();
      await store.recordExecutionEnd("a", { status: "completed", uuid_verified: true });
      const rec = await store.getExecution("a");
      expect(rec?.ended_at).toBeGreaterThanOrEqual(before);
      expect(rec?.ended_at).toBeLessThanOrEqual(Date.now());
      expect(rec?.duration_ms).toBeGreaterThanOrEqual(5000);
      expect(rec?.uuid_verified).toBe(true);

      await store.recordExecutionStart(exec("b", 1));
      await store.recordExecutionEnd("b", { status: "completed", ended_at: T0 + 9000, duration_ms: 1234 });
      expect((await store.getExecution("b"))?.duration_ms).toBe(1234);
    });

    it("ignores the end of an unknown execution", async () => {
      await expect(store.recordExecutionEnd("ghost", { status: "completed" })).resolves.toBeUndefined();
      expect(await store.getExecution("ghost")).toBeUndefined();
      expect(await store.listExecutions()).toEqual([]);
    });

    it("replaces a record started again with the same id", async () => {
      await store.recordExecutionStart(exec("a", 1));
      await store.recordExecutionEnd("a", { status: "completed", ended_at: T0 + 2000 });
      await store.recordExecutionStart(exec("a", 5, { label: "again" }));
      const rec = await store.getExecution("a");
      expect(rec).toMatchObject({ status: "running", label: "again", started_at: T0 + 5000 });
      expect(rec?.ended_at).toBeUndefined();
      expect(await store.recentDurations("cmd:echo", 10)).toEqual([]);
      expect(await store.listExecutions()).toHaveLength(1);
    });

    it("lists newest first, honours limit and before", async () => {
      for (const i of [3, 1, 4, 2, 5]) await store.recordExecutionStart(exec(`e${i}`, i));
      expect((await store.listExecutions({ limit: 10 })).map((r) => r.id)).toEqual(["e5", "e4", "e3", "e2", "e1"]);
      expect((await store.listExecutions({ limit: 2 })).map((r) => r.id)).toEqual(["e5", "e4"]);
      expect((await store.listExecutions({ limit: 2, before: T0 + 4000 })).map((r) => r.id)).toEqual(["e3", "e2"]);
      expect((await store.listExecutions({ before: new Date(T0 + 2000) })).map((r) => r.id)).toEqual(["e1"]);
      expect(await store.listExecutions({ limit: 0 })).toEqual([]);
    });

    it("filters by status and kind", async () => {
      await store.recordExecutionStart(exec("c1", 1));
      await store.recordExecutionStart(exec("c2", 2, { kind: "claude" }));
      await store.recordExecutionStart(exec("c3", 3));
      await store.recordExecutionStart(exec("c4", 4, { kind: "task" }));
      await store.recordExecutionEnd("c1", { status: "completed", ended_at: T0 + 1500 });
      await store.recordExecutionEnd("c2", { status: "timeout", ended_at: T0 + 2500 });
      await store.recordExecutionEnd("c4", { status: "completed", ended_at: T0 + 4500 });
      expect((await store.listExecutions({ status: "completed" })).map((r) => r.id)).toEqual(["c4", "c1"]);
      expect((await store.listExecutions({ status: "running" })).map((r) => r.id)).toEqual(["c3"]);
      expect((await store.listExecutions({ kind: "claude" })).map((r) => r.id)).toEqual(["c2"]);
      expect((await store.listExecutions({ kind: "command", status: "completed" })).map((r) => r.id)).toEqual(["c1"]);
      expect(await store.listExecutions({ status: "canceled" })).toEqual([]);
    });

    it("finds a filtered match far behind many newer non-matching records", async () => {
      await store.recordExecutionStart(exec("old", 0, { kind: "claude" }));
      for (let i = 1; i <= 450; i++) await store.recordExecutionStart(exec(`n${i}`, i));
      expect((await store.listExecutions({ kind: "claude", limit: 5 })).map((r) => r.id)).toEqual(["old"]);
      expect(await store.listExecutions({ limit: 1000 })).toHaveLength(451);
    });

    it("clears executions started before a time and says how many", async () => {
      for (let i = 1; i <= 5; i++) await store.recordExecutionStart(exec(`e${i}`, i));
      await store.recordExecutionEnd("e2", { status: "completed", ended_at: T0 + 2100 });
      expect(await store.clearExecutions({ before: new Date(T0 + 3000) })).toBe(2);
      expect((await store.listExecutions()).map((r) => r.id)).toEqual(["e5", "e4", "e3"]);
      expect(await store.getExecution("e1")).toBeUndefined();
      expect(await store.recentDurations("cmd:echo", 10)).toEqual([]);
      expect(await store.clearExecutions({ before: T0 + 3000 })).toBe(0);
      expect(await store.clearExecutions({ before: T0 + 100_000 })).toBe(3);
      expect(await store.listExecutions()).toEqual([]);
    });

    it("prunes by age and by count, task-list runs too; a dry run only counts", async () => {
      for (let i = 1; i <= 10; i++) await store.recordExecutionStart(exec(`p${i}`, i));
      await store.recordExecutionEnd("p9", { status: "completed", ended_at: T0 + 9500 });
      for (let i = 1; i <= 4; i++) await store.saveTaskListRun(run(`r${i}`, i));
      expect(await store.usage()).toMatchObject({ executions: 10, task_list_runs: 4, oldest_started_at: T0 + 1000 });

      // Older than p3 (p1, p2), or past the newest 6 (p1..p4): p1..p4; runs: r1, r2 by age.
      const plan = await store.pruneHistory({ before: T0 + 3000, keep: 6, dryRun: true });
      expect(plan).toEqual({ executions: 4, task_list_runs: 2 });
      expect((await store.usage()).executions).toBe(10);

      expect(await store.pruneHistory({ before: T0 + 3000, keep: 6 })).toEqual({ executions: 4, task_list_runs: 2 });
      expect((await store.listExecutions()).map((r) => r.id)).toEqual(["p10", "p9", "p8", "p7", "p6", "p5"]);
      expect((await store.listTaskListRuns()).map((r) => r.run_id)).toEqual(["r4", "r3"]);
      expect(await store.recentDurations("cmd:echo", 10)).toEqual([500]);
      expect(await store.usage()).toMatchObject({ executions: 6, task_list_runs: 2, oldest_started_at: T0 + 5000 });

      expect(await store.pruneHistory({ keep: 1 })).toEqual({ executions: 5, task_list_runs: 1 });
      expect((await store.listExecutions()).map((r) => r.id)).toEqual(["p10"]);
      expect(await store.pruneHistory({})).toEqual({ executions: 0, task_list_runs: 0 });
      expect(await store.pruneHistory({ keep: 0 })).toEqual({ executions: 1, task_list_runs: 1 });
      expect(await store.usage()).toMatchObject({ executions: 0, task_list_runs: 0 });
      expect((await store.usage()).oldest_started_at).toBeUndefined();
    });

    it("upserts, gets and lists task-list runs newest first", async () => {
      await store.saveTaskListRun(run("r1", 1));
      await store.saveTaskListRun(run("r2", 2));
      await store.saveTaskListRun(run("r3", 3));
      await store.saveTaskListRun(run("r1", 1, { status: "completed", ended_at: T0 + 9000, tasks_done: 2, tasks_failed: 1 }));
      expect(await store.getTaskListRun("r1")).toEqual(run("r1", 1, { status: "completed", ended_at: T0 + 9000, tasks_done: 2, tasks_failed: 1 }));
      expect(await store.getTaskListRun("r2")).toEqual(run("r2", 2));
      expect(await store.getTaskListRun("nope")).toBeUndefined();
      expect((await store.listTaskListRuns()).map((r) => r.run_id)).toEqual(["r3", "r2", "r1"]);
      expect((await store.listTaskListRuns({ limit: 2 })).map((r) => r.run_id)).toEqual(["r3", "r2"]);
    });

    it("gives recent durations of completed executions of one category only, newest first", async () => {
      const done = async (id: string, i: number, ms: number, status: "completed" | "failed" | "timeout" = "completed", category = "cmd:npm") => {
        await store.recordExecutionStart(exec(id, i, { category }));
        await store.recordExecutionEnd(id, { status, ended_at: T0 + i * 1000 + ms });
      };
      await done("a", 1, 100);
      await done("b", 2, 200);
      await done("c", 3, 999, "failed");
      await done("d", 4, 400);
      await done("e", 5, 555, "completed", "cmd:make");
      await done("f", 6, 888, "timeout");
      await store.recordExecutionStart(exec("g", 7, { category: "cmd:npm" })); // still running
      expect(await store.recentDurations("cmd:npm", 10)).toEqual([400, 200, 100]);
      expect(await store.recentDurations("cmd:npm", 2)).toEqual([400, 200]);
      expect(await store.recentDurations("cmd:make", 10)).toEqual([555]);
      expect(await store.recentDurations("cmd:none", 10)).toEqual([]);
    });

    it("caps a big label at LABEL_MAX characters and keeps big artifacts whole", async () => {
      const big = "x".repeat(100_000);
      const path = `/runs/${"p".repeat(50_000)}`;
      await store.recordExecutionStart(exec("big", 1, { label: big, digest: digestOf(big), artifacts: { report: path } }));
      const rec = await store.getExecution("big");
      expect(rec?.label).toBe("x".repeat(LABEL_MAX));
      expect(rec?.digest).toBe(digestOf(big));
      expect(rec?.artifacts.report).toBe(path);
    });

    it("keeps unicode intact, and never cuts a surrogate pair when capping", async () => {
      const prompt = `Résumé 日本語 ${"🙂".repeat(300)}`;
      await store.recordExecutionStart(exec("ü-ñ-🙂", 1, { label: prompt, category: "claude:téléphone", artifacts: { "résultat": "/tmp/ö/🙂.json" } }));
      await store.recordExecutionEnd("ü-ñ-🙂", { status: "completed", ended_at: T0 + 1500, error_type: "—" });
      const rec = await store.getExecution("ü-ñ-🙂");
      expect(Array.from(rec!.label)).toHaveLength(LABEL_MAX);
      expect(rec!.label.startsWith("Résumé 日本語 🙂")).toBe(true);
      expect(rec!.label.endsWith("🙂")).toBe(true);
      expect(rec!.artifacts).toEqual({ "résultat": "/tmp/ö/🙂.json" });
      expect(rec!.error_type).toBe("—");
      expect(await store.recentDurations("claude:téléphone", 5)).toEqual([500]);
      await store.saveTaskListRun(run("运行-1", 1, { name: "Liste ✓" }));
      expect((await store.getTaskListRun("运行-1"))?.name).toBe("Liste ✓");
    });

    it("reports itself healthy", async () => {
      const h = await store.health();
      expect(h.status).toBe("ok");
      expect(h.backend).toBe(name);
    });
  });
}
