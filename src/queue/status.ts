import { Redis } from "ioredis";
import * as z from "zod";
import { JobQueue, UNREADABLE } from "./job.js";
import { bullConnection, queueKeys, resolveQueue, type QueueConnectionOptions } from "./keys.js";
import { redactUrl } from "../redact-url.js";
import type { WorkerRecord } from "./worker.js";

export interface QueueStatus {
  queue: string;
  redis: string;
  paused: boolean;
  /** Set when a usage limit paused the queue (--on-limit queue): when it resumes by itself. */
  paused_until?: string;
  counts: { waiting: number; active: number; completed: number; failed: number; delayed: number; prioritized: number };
  /** Live workers: each one's heartbeat record, and whether BullMQ sees its connections. */
  workers: Array<WorkerRecord & { connected: boolean }>;
  /** Worker connections BullMQ sees (CLIENT LIST), by worker name. */
  bullmq_workers: Array<{ name: string; connections: number; addr: string[] }>;
  waiting_jobs: JobRow[];
  active_jobs: JobRow[];
  failed_jobs: JobRow[];
  /** What could not be read (a worker record or job data someone else wrote), instead of failing. */
  problems: string[];
}

export interface JobRow {
  id: string;
  run_id?: string;
  task_id?: string;
  title?: string;
  worker?: string;
  added_at?: string;
  processed_at?: string;
  finished_at?: string;
  failed_reason?: string;
}

export class RedisUnreachableError extends Error {
  constructor(url: string, cause: string) {
    super(`cannot reach Redis at ${redactUrl(url)}: ${cause}`);
    this.name = "RedisUnreachableError";
  }
}

/** Pings Redis once, with a short timeout and no retries: a clear error instead of a hang. */
export async function checkRedis(url: string, timeoutMs = 5000): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  let lastError: Error | undefined;
  client.on("error", (err: Error) => (lastError = err));
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    throw new RedisUnreachableError(url, (lastError ?? (err as Error)).message);
  } finally {
    client.disconnect();
  }
}

/** What `queue status` shows of a job's data: whatever of it has the expected shape. */
const JobShown = z.object({
  request: z.object({ runId: z.string().optional(), task: z.object({ id: z.string().optional(), title: z.string().optional() }).optional() }).optional(),
});

const WorkerRecordShape = z.object({
  id: z.string(),
  name: z.string(),
  host: z.string(),
  pid: z.number(),
  concurrency: z.number(),
  started_at: z.string(),
  heartbeat_at: z.string(),
  running: z.array(z.object({ job: z.string(), run_id: z.string(), task_id: z.string(), title: z.string(), started_at: z.string() })),
  jobs_done: z.number(),
  paused_until: z.string().optional(),
  closing: z.boolean(),
  on_limit: z.enum(["worker", "queue"]),
});

/** A heartbeat record, or undefined when the text is not one (someone else wrote it). */
function readWorkerRecord(text: string): WorkerRecord | undefined {
  try {
    const parsed = WorkerRecordShape.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Workers, job counts and the first jobs of each list, for `cc-executor queue status`. */
export async function queueStatus(options: QueueConnectionOptions & { jobs?: number }): Promise<QueueStatus> {
  const q = resolveQueue(options);
  const keys = queueKeys(q);
  await checkRedis(q.redisUrl);
  const queue = new JobQueue(q.queueName, { connection: bullConnection(q), prefix: q.prefix });
  const redis = new Redis(q.redisUrl, { maxRetriesPerRequest: 1 });
  queue.on("error", () => undefined);
  redis.on("error", () => undefined);
  try {
    const n = Math.max(0, (options.jobs ?? 20) - 1);
    const [counts, paused, clients, ids, pausedUntil, waiting, active, failed] = await Promise.all([
      queue.getJobCounts("waiting", "active", "completed", "failed", "delayed", "prioritized"),
      queue.isPaused(),
      queue.getWorkers(),
      redis.zrangebyscore(keys.workersSet, Date.now(), "+inf"),
      redis.get(keys.pausedUntilKey),
      queue.getJobs(["waiting", "prioritized", "delayed"], 0, n, true),
      queue.getJobs(["active"], 0, n, true),
      queue.getJobs(["failed"], 0, n, false),
    ]);
    const problems: string[] = [];
    const texts = ids.length ? await redis.mget(ids.map((id) => keys.workerKey(id))) : [];
    const records = texts.flatMap((text, i) => {
      if (text === null) return []; // expired meanwhile
      const record = readWorkerRecord(text);
      if (!record) problems.push(`worker ${ids[i]}: not a worker record: ${text.slice(0, 80)}`);
      return record ? [record] : [];
    });
    const byName = new Map<string, { name: string; connections: number; addr: string[] }>();
    for (const c of clients) {
      const raw = c.rawname ?? "";
      const at = raw.indexOf(":w:");
      const name = at >= 0 ? raw.slice(at + 3) : "(unnamed)";
      const entry = byName.get(name) ?? { name, connections: 0, addr: [] };
      entry.connections++;
      if (c.addr) entry.addr.push(c.addr);
      byName.set(name, entry);
    }
    const row = (j: (typeof waiting)[number]): JobRow => {
      const shown = JobShown.safeParse(j.data);
      if (j.data !== null && typeof j.data === "object" && UNREADABLE in j.data) problems.push(`job ${j.id}: its data is not JSON`);
      const req = shown.success ? shown.data.request : undefined;
      return {
        id: String(j.id),
        run_id: req?.runId,
        task_id: req?.task?.id,
        title: req?.task?.title,
        worker: (j as { processedBy?: string }).processedBy,
        added_at: j.timestamp ? new Date(j.timestamp).toISOString() : undefined,
        processed_at: j.processedOn ? new Date(j.processedOn).toISOString() : undefined,
        finished_at: j.finishedOn ? new Date(j.finishedOn).toISOString() : undefined,
        failed_reason: j.failedReason || undefined,
      };
    };
    return {
      queue: q.queueName,
      redis: redactUrl(q.redisUrl),
      paused,
      paused_until: pausedUntil && Number.isFinite(Number(pausedUntil)) ? new Date(Number(pausedUntil)).toISOString() : undefined,
      counts: {
        waiting: counts.waiting ?? 0,
        active: counts.active ?? 0,
        completed: counts.completed ?? 0,
        failed: counts.failed ?? 0,
        delayed: counts.delayed ?? 0,
        prioritized: counts.prioritized ?? 0,
      },
      workers: records.map((r) => ({ ...r, connected: byName.has(r.name) })).sort((a, b) => a.name.localeCompare(b.name)),
      bullmq_workers: [...byName.values()].sort((a, b) => a.name.localeCompare(b.name)),
      waiting_jobs: waiting.filter(Boolean).map(row),
      active_jobs: active.filter(Boolean).map(row),
      failed_jobs: failed.filter(Boolean).map(row),
      problems,
    };
  } finally {
    await Promise.allSettled([queue.close(), redis.quit()]);
  }
}
