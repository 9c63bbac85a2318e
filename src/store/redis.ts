import type { ChainableCommander, Redis } from "ioredis";
import { lazyRequire } from "../lazy-require.js";
import { silentLogger, type Logger } from "../logger.js";
import { applyEnd, clampLimit, DEFAULT_RUN_LIST_LIMIT, matchesQuery, startRecord, toMs, validateRun } from "./record.js";
import type { ExecutionEnd, ExecutionQuery, ExecutionRecord, ExecutionStart, HistoryPruneOptions, HistoryPruneResult, HistoryUsage, Store, StoreHealth, TaskListRun } from "./types.js";
import { WriteBuffer, type BufferedWrite } from "./write-buffer.js";
import { redactUrl } from "../redact-url.js";

export interface RedisStoreOptions {
  url: string;
  /** Every key starts with this (default "cc-executor:"). */
  prefix?: string;
  /** Seconds an execution record lives after its last write (default 30 days). */
  executionTtlS?: number;
  /** Seconds a task-list run lives after its last save (default 90 days). */
  runTtlS?: number;
  /** Writes kept in memory while Redis is unreachable (default 10,000); the oldest go first. */
  maxBuffer?: number;
  logger?: Logger;
  /** Per-command limit, so that a hung server turns into an error instead of a hang (default 2000 ms). */
  commandTimeoutMs?: number;
  /** Longest pause between reconnection attempts (default 2000 ms). */
  reconnectMaxDelayMs?: number;
  /** How often a degraded store checks whether it can flush (default 1000 ms). */
  retryIntervalMs?: number;
}

const DAY_S = 24 * 3600;
/** Newest successful executions kept per category for the estimator. */
const CATEGORY_KEEP = 1000;
const SCAN_BATCH = 200;
const SWEEP_EVERY_MS = 3600_000;

/**
 * Redis backend (used when REDIS_URL is set). Executions and runs are JSON strings with a TTL,
 * indexed by sorted sets scored by started_at; a per-category sorted set of completed executions
 * serves the estimator.
 *
 * Redis is not allowed to take the service down with it: no method throws because Redis is gone.
 * Commands fail fast (no offline queue, a command timeout); a failure turns the store "degraded"
 * (one warning), writes go to a bounded in-memory WriteBuffer, reads answer from that buffer, and
 * the buffer is flushed in order once ioredis has reconnected.
 */
export class RedisStore implements Store {
  readonly prefix: string;
  private readonly client: Redis;
  private readonly execTtlMs: number;
  private readonly runTtlMs: number;
  private readonly logger: Logger;
  private readonly buffer: WriteBuffer;
  private readonly retryIntervalMs: number;
  private degraded = false;
  private closed = false;
  private lastError = "";
  private retryTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private lastSweep = 0;

  constructor(private readonly options: RedisStoreOptions) {
    this.prefix = options.prefix ?? "cc-executor:";
    this.execTtlMs = Math.round((options.executionTtlS ?? 30 * DAY_S) * 1000);
    this.runTtlMs = Math.round((options.runTtlS ?? 90 * DAY_S) * 1000);
    this.logger = options.logger ?? silentLogger;
    this.buffer = new WriteBuffer(options.maxBuffer ?? 10_000);
    this.retryIntervalMs = options.retryIntervalMs ?? 1000;
    const maxDelay = options.reconnectMaxDelayMs ?? 2000;
    const { Redis } = lazyRequire("ioredis") as typeof import("ioredis");
    this.client = new Redis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      autoResendUnfulfilledCommands: false,
      commandTimeout: options.commandTimeoutMs ?? 2000,
      connectTimeout: options.commandTimeoutMs ?? 2000,
      // Reconnect forever, backing off: Redis coming back is the normal end of a degraded spell.
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), maxDelay),
    });
    // Without a listener ioredis prints every reconnection failure; we report once, via health.
    this.client.on("error", (err: Error) => (this.lastError = err.message));
    this.client.on("close", () => {
      if (!this.closed) this.enterDegraded(new Error(this.lastError || "connection closed"));
    });
    this.client.on("ready", () => void this.tryRecover());
  }

  /** Creates a store and waits up to waitMs for Redis; if it is not there, the store starts degraded. */
  static async connect(options: RedisStoreOptions & { waitMs?: number }): Promise<RedisStore> {
    const store = new RedisStore(options);
    await store.waitReady(options.waitMs ?? 2000);
    return store;
  }

  private async waitReady(waitMs: number): Promise<void> {
    if (this.client.status === "ready") return;
    await new Promise<void>((resolve) => {
      const done = () => (clearTimeout(timer), this.client.off("ready", done), resolve());
      const timer = setTimeout(done, waitMs);
      this.client.once("ready", done);
    });
    if ((this.client.status as string) !== "ready") this.enterDegraded(new Error(this.lastError || `not ready after ${waitMs} ms`));
  }

  // ---- Store ------------------------------------------------------------------------------

  async recordExecutionStart(rec: ExecutionStart): Promise<void> {
    await this.write({ op: "execution", rec: startRecord(rec) });
  }

  async recordExecutionEnd(id: string, patch: ExecutionEnd): Promise<void> {
    // Fix the end time now: a buffered end must not be stamped with the time of the flush.
    await this.write({ op: "end", id, patch: { ...patch, ended_at: patch.ended_at ?? Date.now() } });
  }

  getExecution(id: string): Promise<ExecutionRecord | undefined> {
    return this.read(
      async () => parse<ExecutionRecord>(await this.client.get(this.execKey(id))),
      () => this.buffer.getExecution(id),
    );
  }

  listExecutions(query: ExecutionQuery = {}): Promise<ExecutionRecord[]> {
    const limit = clampLimit(query.limit);
    const max = query.before === undefined ? "+inf" : `(${toMs(query.before)}`;
    return this.read(
      () => this.scanIndex<ExecutionRecord>(this.key("exec:index"), (id) => this.execKey(id), max, limit, (r) => matchesQuery(r, query)),
      () => this.buffer.listExecutions(query, limit),
    );
  }

  async clearExecutions(options: { before: Date | number }): Promise<number> {
    const before = toMs(options.before);
    if (await this.usable()) {
      try {
        return await this.applyClear(before);
      } catch (err) {
        if (!this.failed(err)) return 0;
      }
    }
    return this.buffer.clear(before);
  }

  async pruneHistory(options: HistoryPruneOptions): Promise<HistoryPruneResult> {
    const before = options.before === undefined ? undefined : toMs(options.before);
    const keep = options.keep === undefined ? undefined : Math.max(0, Math.floor(options.keep));
    if (await this.usable()) {
      try {
        return await this.applyPrune(before, keep, options.dryRun ?? false);
      } catch (err) {
        if (!this.failed(err)) return { executions: 0, task_list_runs: 0 };
      }
    }
    // Redis is away: what waits in the buffer can be pruned by age; the rest when it is back.
    if (options.dryRun || before === undefined) return { executions: 0, task_list_runs: 0 };
    return { executions: this.buffer.clear(before), task_list_runs: 0 };
  }

  async usage(): Promise<HistoryUsage> {
    return this.read(
      async () => {
        const [executions, oldest, runs] = await Promise.all([
          this.client.zcard(this.key("exec:index")),
          this.client.zrange(this.key("exec:index"), 0, 0, "WITHSCORES"),
          this.client.zcard(this.key("run:index")),
        ]);
        const usage: HistoryUsage = { executions, task_list_runs: runs };
        if (oldest[1] !== undefined) usage.oldest_started_at = Number(oldest[1]);
        return usage;
      },
      () => ({ executions: this.buffer.listExecutions({}, 1000).length, task_list_runs: this.buffer.listRuns(1000).length }),
    );
  }

  async saveTaskListRun(run: TaskListRun): Promise<void> {
    await this.write({ op: "run", run: validateRun(run) });
  }

  getTaskListRun(runId: string): Promise<TaskListRun | undefined> {
    return this.read(
      async () => parse<TaskListRun>(await this.client.get(this.runKey(runId))),
      () => this.buffer.getRun(runId),
    );
  }

  listTaskListRuns(options: { limit?: number } = {}): Promise<TaskListRun[]> {
    const limit = clampLimit(options.limit, DEFAULT_RUN_LIST_LIMIT);
    return this.read(
      () => this.scanIndex<TaskListRun>(this.key("run:index"), (id) => this.runKey(id), "+inf", limit, () => true),
      () => this.buffer.listRuns(limit),
    );
  }

  recentDurations(category: string, limit: number): Promise<number[]> {
    const n = clampLimit(limit);
    return this.read(
      async () => {
        const recs = await this.scanIndex<ExecutionRecord>(this.catKey(category), (id) => this.execKey(id), "+inf", n, (r) => r.category === category && r.status === "completed" && typeof r.duration_ms === "number");
        return recs.map((r) => r.duration_ms as number);
      },
      () => this.buffer.recentDurations(category, n),
    );
  }

  async health(): Promise<StoreHealth> {
    if (await this.usable()) {
      try {
        await this.client.ping();
        return { backend: "redis", status: "ok", detail: `${redactUrl(this.options.url)} prefix=${this.prefix}` };
      } catch (err) {
        this.failed(err);
      }
    }
    return {
      backend: "redis",
      status: "degraded",
      detail: `redis unreachable (${this.lastError || "unknown error"}); ${this.buffer.size} writes buffered in memory, ${this.buffer.dropped} dropped`,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.tryRecover(); // last chance to deliver what is buffered
    this.closed = true;
    this.stopRetry();
    if (this.buffer.size > 0) this.logger.warn({ lost: this.buffer.size }, "redis store closed with undelivered writes");
    this.client.disconnect();
  }

  // ---- degraded mode ----------------------------------------------------------------------

  /** True when Redis may be used now: not degraded, or degraded but just flushed successfully. */
  private async usable(): Promise<boolean> {
    if (this.closed) return false;
    if (this.degraded) await this.tryRecover();
    return !this.degraded;
  }

  private async write(write: BufferedWrite): Promise<void> {
    if (await this.usable()) {
      try {
        return await this.apply(write);
      } catch (err) {
        if (!this.failed(err)) return;
      }
    }
    if (this.buffer.push(write) > 0 && this.buffer.dropped === 1) {
      this.logger.warn({ max: this.buffer.max }, "redis store buffer full: dropping the oldest buffered writes");
    }
  }

  private async read<T>(fromRedis: () => Promise<T>, fromBuffer: () => T): Promise<T> {
    if (await this.usable()) {
      try {
        return await fromRedis();
      } catch (err) {
        this.failed(err);
      }
    }
    return fromBuffer();
  }

  /**
   * Classifies a failed call. A reply error (the server answered "no") is a bug or bad data, not
   * an outage: logged, not buffered (it would fail again forever). Returns true for outages.
   */
  private failed(err: unknown): boolean {
    if (err instanceof Error && err.name === "ReplyError") {
      this.logger.error({ err }, "redis store: command refused");
      return false;
    }
    this.enterDegraded(err);
    return true;
  }

  private enterDegraded(err: unknown): void {
    this.lastError = err instanceof Error ? err.message : String(err);
    if (this.degraded || this.closed) return;
    this.degraded = true;
    this.logger.warn({ err: this.lastError }, "redis store unreachable: buffering writes in memory until it is back");
    this.retryTimer = setInterval(() => void this.tryRecover(), this.retryIntervalMs);
    this.retryTimer.unref();
  }

  private stopRetry(): void {
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** Flushes the buffer if Redis is connected; one flush at a time, everyone awaits the same one. */
  private async tryRecover(): Promise<void> {
    if (!this.degraded || this.closed || this.client.status !== "ready") return;
    this.flushing ??= this.flush().finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  private async flush(): Promise<void> {
    let flushed = 0;
    for (let next = this.buffer.first(); next; next = this.buffer.first()) {
      try {
        await this.apply(next.entry.write);
        flushed++;
      } catch (err) {
        if (!(err instanceof Error && err.name === "ReplyError")) {
          this.lastError = err instanceof Error ? err.message : String(err);
          return; // still down: the timer or the next "ready" tries again
        }
        this.logger.error({ err, write: next.entry.write.op }, "redis store: buffered write refused, dropped");
      }
      this.buffer.delivered(next);
    }
    // No await between the empty check above and here: no write can slip into the buffer unseen.
    this.degraded = false;
    this.stopRetry();
    const dropped = this.buffer.resetDropped();
    if (dropped > 0) this.logger.warn({ flushed, dropped }, "redis store is back; buffered writes flushed, some were dropped while it was away");
    else this.logger.info({ flushed }, "redis store is back; buffered writes flushed");
  }

  // ---- Redis operations (these throw; callers above decide what a failure means) ----------

  private async apply(write: BufferedWrite): Promise<void> {
    switch (write.op) {
      case "execution":
        return this.writeExecution(write.rec);
      case "end": {
        const rec = parse<ExecutionRecord>(await this.client.get(this.execKey(write.id)));
        if (rec) await this.writeExecution(applyEnd(rec, write.patch));
        return;
      }
      case "run":
        return this.writeRun(write.run);
      case "clear":
        await this.applyClear(write.before);
        return;
    }
  }

  private async writeExecution(rec: ExecutionRecord): Promise<void> {
    this.maybeSweep();
    const m = this.client
      .multi()
      .set(this.execKey(rec.id), JSON.stringify(rec), "PX", this.execTtlMs)
      .zadd(this.key("exec:index"), rec.started_at, rec.id)
      .pexpire(this.key("exec:index"), this.execTtlMs);
    const cat = this.catKey(rec.category);
    if (rec.status === "completed" && typeof rec.duration_ms === "number") {
      m.zadd(cat, rec.started_at, rec.id)
        .zremrangebyrank(cat, 0, -(CATEGORY_KEEP + 1))
        .pexpire(cat, this.execTtlMs)
        .sadd(this.key("exec:categories"), rec.category)
        .pexpire(this.key("exec:categories"), this.execTtlMs);
    } else {
      m.zrem(cat, rec.id); // a restarted or failed execution is no sample
    }
    await execMulti(m);
  }

  private async writeRun(run: TaskListRun): Promise<void> {
    const m = this.client
      .multi()
      .set(this.runKey(run.run_id), JSON.stringify(run), "PX", this.runTtlMs)
      .zadd(this.key("run:index"), run.started_at, run.run_id)
      .pexpire(this.key("run:index"), this.runTtlMs);
    await execMulti(m);
  }

  /**
   * Index members outlive their records (a TTL expires a key, not a sorted-set member). Reads
   * prune what they walk over; this sweep, at most once per SWEEP_EVERY_MS and in the background,
   * prunes the old tail that reads never reach. Only members older than the TTL are candidates,
   * and only those whose record is really gone are removed (a record re-written later lives on).
   */
  private maybeSweep(): void {
    const now = Date.now();
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    const sweep = async (index: string, keyOf: (id: string) => string, ttlMs: number) => {
      const ids = await this.client.zrangebyscore(index, "-inf", `(${now - ttlMs}`, "LIMIT", 0, 5000);
      if (ids.length === 0) return;
      const values = await this.client.mget(...ids.map(keyOf));
      const gone = ids.filter((_, i) => values[i] === null);
      if (gone.length > 0) await this.client.zrem(index, ...gone);
    };
    Promise.all([
      sweep(this.key("exec:index"), (id) => this.execKey(id), this.execTtlMs),
      sweep(this.key("run:index"), (id) => this.runKey(id), this.runTtlMs),
    ]).catch(() => undefined); // housekeeping only: an outage is noticed by the real calls
  }

  private async applyClear(before: number): Promise<number> {
    const ids = await this.client.zrangebyscore(this.key("exec:index"), "-inf", `(${before}`);
    return this.deleteRecords(this.key("exec:index"), ids, (id) => this.execKey(id), true);
  }

  private async applyPrune(before: number | undefined, keep: number | undefined, dryRun: boolean): Promise<HistoryPruneResult> {
    const execIndex = this.key("exec:index");
    const runIndex = this.key("run:index");
    const [execIds, runIds] = [await this.idsToPrune(execIndex, before, keep), await this.idsToPrune(runIndex, before, keep)];
    if (dryRun) return { executions: await this.countExisting(execIds, (id) => this.execKey(id)), task_list_runs: await this.countExisting(runIds, (id) => this.runKey(id)) };
    return {
      executions: await this.deleteRecords(execIndex, execIds, (id) => this.execKey(id), true),
      task_list_runs: await this.deleteRecords(runIndex, runIds, (id) => this.runKey(id), false),
    };
  }

  /** Members of a sorted-set index that started before `before`, or are older than the newest `keep`. */
  private async idsToPrune(index: string, before: number | undefined, keep: number | undefined): Promise<string[]> {
    const ids = new Set<string>();
    if (before !== undefined) for (const id of await this.client.zrangebyscore(index, "-inf", `(${before}`)) ids.add(id);
    if (keep !== undefined) {
      const card = await this.client.zcard(index);
      if (card > keep) for (const id of await this.client.zrange(index, 0, card - keep - 1)) ids.add(id);
    }
    return [...ids];
  }

  private async countExisting(ids: string[], keyOf: (id: string) => string): Promise<number> {
    let n = 0;
    for (let i = 0; i < ids.length; i += 500) n += await this.client.exists(...ids.slice(i, i + 500).map(keyOf));
    return n;
  }

  /** Deletes records and their index members (and estimator samples); returns how many records existed. */
  private async deleteRecords(index: string, ids: string[], keyOf: (id: string) => string, withCategories: boolean): Promise<number> {
    let deleted = 0;
    const categories = withCategories && ids.length > 0 ? await this.client.smembers(this.key("exec:categories")) : [];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      deleted += await this.client.del(...chunk.map(keyOf));
      await this.client.zrem(index, ...chunk);
      if (categories.length > 0) {
        const p = this.client.pipeline();
        for (const category of categories) p.zrem(this.catKey(category), ...chunk);
        await execMulti(p);
      }
    }
    return deleted;
  }

  /**
   * Walks a sorted-set index newest first, fetching records in batches, until `want` records pass
   * `accept`. Members whose record has expired (TTL) are removed from the index on the way.
   */
  private async scanIndex<T>(index: string, keyOf: (id: string) => string, max: string, want: number, accept: (rec: T) => boolean): Promise<T[]> {
    const out: T[] = [];
    const stale: string[] = [];
    for (let offset = 0; out.length < want; offset += SCAN_BATCH) {
      const ids = await this.client.zrevrangebyscore(index, max, "-inf", "LIMIT", offset, SCAN_BATCH);
      if (ids.length === 0) break;
      const values = await this.client.mget(...ids.map(keyOf));
      for (let i = 0; i < ids.length && out.length < want; i++) {
        const rec = parse<T>(values[i] ?? null);
        if (rec === undefined) stale.push(ids[i]!);
        else if (accept(rec)) out.push(rec);
      }
      if (ids.length < SCAN_BATCH) break;
    }
    if (stale.length > 0) await this.client.zrem(index, ...stale);
    return out;
  }

  private key(suffix: string): string {
    return this.prefix + suffix;
  }
  private execKey(id: string): string {
    return this.key(`exec:${id}`);
  }
  private catKey(category: string): string {
    return this.key(`exec:cat:${category}`);
  }
  private runKey(runId: string): string {
    return this.key(`run:${runId}`);
  }
}

async function execMulti(m: ChainableCommander): Promise<void> {
  const results = await m.exec();
  if (!results) throw new Error("redis transaction aborted");
  for (const [err] of results) if (err) throw err;
}

/** A stored JSON value, or undefined when missing or unreadable (treated like an expired record). */
function parse<T>(value: string | null): T | undefined {
  if (value === null) return undefined;
  try {
    return JSON.parse(value) as T;
  } catch {
    return undefined;
  }
}

