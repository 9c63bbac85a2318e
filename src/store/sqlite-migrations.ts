/**
 * Schema history of the SQLite store. Entry i takes a database from user_version i to i + 1;
 * entries are append-only: never edit one that has shipped, add a new one instead.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: executions and task-list runs.
  `
  CREATE TABLE executions (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    label            TEXT NOT NULL,
    digest           TEXT NOT NULL,
    category         TEXT NOT NULL,
    session_id       TEXT,
    started_at       INTEGER NOT NULL,
    ended_at         INTEGER,
    duration_ms      INTEGER,
    status           TEXT NOT NULL,
    exit_code        INTEGER,
    error_type       TEXT,
    input_tokens     INTEGER,
    output_tokens    INTEGER,
    cost_usd         REAL,
    uuid_verified    INTEGER,
    timeout_s        REAL,
    timeout_basis    TEXT,
    artifacts        TEXT NOT NULL DEFAULT '{}',
    task_list_run_id TEXT
  );
  CREATE INDEX executions_started ON executions (started_at DESC, id DESC);
  -- The estimator's query: successful durations of one category, newest first.
  CREATE INDEX executions_category ON executions (category, status, started_at DESC);
  CREATE INDEX executions_run ON executions (task_list_run_id) WHERE task_list_run_id IS NOT NULL;

  CREATE TABLE task_list_runs (
    run_id          TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    source          TEXT NOT NULL,
    status          TEXT NOT NULL,
    started_at      INTEGER NOT NULL,
    ended_at        INTEGER,
    tasks_total     INTEGER NOT NULL,
    tasks_done      INTEGER NOT NULL,
    tasks_failed    INTEGER NOT NULL,
    checkpoint_path TEXT NOT NULL
  );
  CREATE INDEX task_list_runs_started ON task_list_runs (started_at DESC, run_id DESC);
  `,
];
