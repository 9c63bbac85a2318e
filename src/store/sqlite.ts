import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import type Database from "better-sqlite3";
import { lazyRequire } from "../lazy-require.js";
import { defaultHome, statePaths } from "../paths.js";
import { applyEnd, clampLimit, compact, DEFAULT_RUN_LIST_LIMIT, startRecord, toMs, validateRun } from "./record.js";
import { MIGRATIONS } from "./sqlite-migrations.js";
import type { ExecutionEnd, ExecutionQuery, ExecutionRecord, ExecutionStart, HistoryPruneOptions, HistoryPruneResult, HistoryUsage, Store, StoreHealth, TaskListRun } from "./types.js";

export interface SqliteStoreOptions {
  /** Database file (default: statePaths(CC_EXECUTOR_HOME).sqliteFile). ":memory:" works too. */
  file?: string;
  /** Milliseconds a writer waits for another process's lock before failing (default 5000). */
  busyTimeoutMs?: number;
}

type Row = Record<string, unknown>;

const EXECUTION_COLUMNS = [
  "id", "kind", "label", "digest", "category", "session_id", "started_at", "ended_at", "duration_ms", "status",
  "exit_code", "error_type", "input_tokens", "output_tokens", "cost_usd", "uuid_verified", "timeout_s",
  "timeout_basis", "artifacts", "task_list_run_id",
] as const;
const RUN_COLUMNS = ["run_id", "name", "source", "status", "started_at", "ended_at", "tasks_total", "tasks_done", "tasks_failed", "checkpoint_path"] as const;

/**
 * The embedded default backend. better-sqlite3 is synchronous: when a method resolves, the row
 * is in the WAL file, so a kill -9 right after loses nothing (synchronous=NORMAL only gives up
 * durability against power loss, not against a process crash). WAL lets the CLI read while the
 * server writes.
 */
export class SqliteStore implements Store {
  readonly file: string;
  private readonly db: Database.Database;
  private readonly upsertExecution: Database.Statement;
  private readonly selectExecution: Database.Statement;
  private readonly selectDurations: Database.Statement;
  private readonly upsertRun: Database.Statement;
  private readonly selectRun: Database.Statement;
  private readonly selectRuns: Database.Statement;

  constructor(options: SqliteStoreOptions = {}) {
    this.file = options.file ?? statePaths(defaultHome()).sqliteFile;
    // The state directory holds prompts and tokens: private to the user when we create it.
    if (this.file !== ":memory:") {
      mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
      // Created 0600 before SQLite opens it (SQLite would use the umask's 0644); its -wal and -shm files take the database file's mode.
      closeSync(openSync(this.file, "a", 0o600));
    }
    const SQLite = lazyRequire("better-sqlite3") as typeof Database;
    this.db = new SQLite(this.file);
    try {
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = NORMAL");
      migrate(this.db);
    } catch (err) {
      this.db.close();
      throw err;
    }
    const cols = EXECUTION_COLUMNS.join(", ");
    this.upsertExecution = this.db.prepare(`INSERT OR REPLACE INTO executions (${cols}) VALUES (${EXECUTION_COLUMNS.map((c) => `@${c}`).join(", ")})`);
    this.selectExecution = this.db.prepare("SELECT * FROM executions WHERE id = ?");
    this.selectDurations = this.db.prepare(
      "SELECT duration_ms FROM executions WHERE category = ? AND status = 'completed' AND duration_ms IS NOT NULL ORDER BY started_at DESC, id DESC LIMIT ?",
    );
    this.upsertRun = this.db.prepare(`INSERT OR REPLACE INTO task_list_runs (${RUN_COLUMNS.join(", ")}) VALUES (${RUN_COLUMNS.map((c) => `@${c}`).join(", ")})`);
    this.selectRun = this.db.prepare("SELECT * FROM task_list_runs WHERE run_id = ?");
    this.selectRuns = this.db.prepare("SELECT * FROM task_list_runs ORDER BY started_at DESC, run_id DESC LIMIT ?");
  }

  /** The schema version this database is at (PRAGMA user_version). */
  get schemaVersion(): number {
    return this.db.pragma("user_version", { simple: true }) as number;
  }

  async recordExecutionStart(rec: ExecutionStart): Promise<void> {
    this.upsertExecution.run(toExecutionRow(startRecord(rec)));
  }

  async recordExecutionEnd(id: string, patch: ExecutionEnd): Promise<void> {
    // Read-merge-write in one transaction so that artifacts merge and duration defaults are exact.
    this.db.transaction(() => {
      const row = this.selectExecution.get(id) as Row | undefined;
      if (!row) return;
      this.upsertExecution.run(toExecutionRow(applyEnd(fromExecutionRow(row), patch)));
    })();
  }

  async getExecution(id: string): Promise<ExecutionRecord | undefined> {
    const row = this.selectExecution.get(id) as Row | undefined;
    return row ? fromExecutionRow(row) : undefined;
  }

  async listExecutions(query: ExecutionQuery = {}): Promise<ExecutionRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.status !== undefined) (where.push("status = ?"), params.push(query.status));
    if (query.kind !== undefined) (where.push("kind = ?"), params.push(query.kind));
    if (query.before !== undefined) (where.push("started_at < ?"), params.push(toMs(query.before)));
    const sql = `SELECT * FROM executions ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY started_at DESC, id DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...params, clampLimit(query.limit)) as Row[];
    return rows.map(fromExecutionRow);
  }

  async clearExecutions(options: { before: Date | number }): Promise<number> {
    return this.db.prepare("DELETE FROM executions WHERE started_at < ?").run(toMs(options.before)).changes;
  }

  async pruneHistory(options: HistoryPruneOptions): Promise<HistoryPruneResult> {
    const before = options.before === undefined ? -Infinity : toMs(options.before);
    // -1: no cap (SQLite's "no limit" for OFFSET's LIMIT, and nothing is past it).
    const keep = options.keep === undefined ? -1 : Math.max(0, Math.floor(options.keep));
    const where = (table: string, key: string) =>
      `started_at < @before OR (@keep >= 0 AND ${key} IN (SELECT ${key} FROM ${table} ORDER BY started_at DESC, ${key} DESC LIMIT -1 OFFSET @keep))`;
    const params = { before: Number.isFinite(before) ? before : -1e18, keep };
    const count = (table: string, key: string) => (this.db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where(table, key)}`).get(params) as { n: number }).n;
    const remove = (table: string, key: string) => this.db.prepare(`DELETE FROM ${table} WHERE ${where(table, key)}`).run(params).changes;
    const apply = options.dryRun ? count : remove;
    return this.db.transaction(() => ({ executions: apply("executions", "id"), task_list_runs: apply("task_list_runs", "run_id") }))();
  }

  async usage(): Promise<HistoryUsage> {
    const executions = (this.db.prepare("SELECT COUNT(*) AS n, MIN(started_at) AS oldest FROM executions").get() as { n: number; oldest: number | null });
    const runs = (this.db.prepare("SELECT COUNT(*) AS n FROM task_list_runs").get() as { n: number }).n;
    const pageSize = this.db.pragma("page_size", { simple: true }) as number;
    const pages = (this.db.pragma("page_count", { simple: true }) as number) - (this.db.pragma("freelist_count", { simple: true }) as number);
    const usage: HistoryUsage = { executions: executions.n, task_list_runs: runs, bytes: pages * pageSize };
    if (executions.oldest !== null) usage.oldest_started_at = executions.oldest;
    return usage;
  }

  async saveTaskListRun(run: TaskListRun): Promise<void> {
    const r = validateRun(run);
    this.upsertRun.run(Object.fromEntries(RUN_COLUMNS.map((c) => [c, (r as unknown as Row)[c] ?? null])));
  }

  async getTaskListRun(runId: string): Promise<TaskListRun | undefined> {
    const row = this.selectRun.get(runId) as Row | undefined;
    return row ? (compact(row) as unknown as TaskListRun) : undefined;
  }

  async listTaskListRuns(options: { limit?: number } = {}): Promise<TaskListRun[]> {
    const rows = this.selectRuns.all(clampLimit(options.limit, DEFAULT_RUN_LIST_LIMIT)) as Row[];
    return rows.map((row) => compact(row) as unknown as TaskListRun);
  }

  async recentDurations(category: string, limit: number): Promise<number[]> {
    const rows = this.selectDurations.all(category, clampLimit(limit)) as Array<{ duration_ms: number }>;
    return rows.map((r) => r.duration_ms);
  }

  async health(): Promise<StoreHealth> {
    try {
      this.db.prepare("SELECT 1").get();
      return { backend: "sqlite", status: "ok", detail: this.file };
    } catch (err) {
      return { backend: "sqlite", status: "degraded", detail: `${this.file}: ${(err as Error).message}` };
    }
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/**
 * Brings the schema to MIGRATIONS.length. BEGIN IMMEDIATE takes the write lock before the version
 * is read, so two processes opening a fresh file at once cannot both apply migration 1.
 */
export function migrate(db: Database.Database): void {
  db.transaction(() => {
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new Error(`database schema version ${version} is newer than this cc-executor knows (${MIGRATIONS.length}); upgrade cc-executor`);
    }
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    if (version !== MIGRATIONS.length) db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}

function toExecutionRow(rec: ExecutionRecord): Row {
  const row: Row = {};
  for (const c of EXECUTION_COLUMNS) row[c] = (rec as unknown as Row)[c] ?? null;
  // SQLite has no booleans and better-sqlite3 refuses to bind them.
  row.uuid_verified = rec.uuid_verified === undefined ? null : rec.uuid_verified ? 1 : 0;
  row.artifacts = JSON.stringify(rec.artifacts ?? {});
  return row;
}

function fromExecutionRow(row: Row): ExecutionRecord {
  const rec = compact({ ...row }) as Row;
  if (rec.uuid_verified !== undefined) rec.uuid_verified = rec.uuid_verified === 1;
  rec.artifacts = parseArtifacts(row.artifacts);
  return rec as unknown as ExecutionRecord;
}

function parseArtifacts(value: unknown): Record<string, string> {
  try {
    const parsed = JSON.parse(String(value ?? "{}")) as unknown;
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}
