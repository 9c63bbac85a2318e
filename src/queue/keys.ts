import type { TaskRequest } from "../tasks/index.js";
import { redactUrl } from "../redact-url.js";

/** The queue name used when CC_EXECUTOR_QUEUE is not set. */
export const DEFAULT_QUEUE_NAME = "cc-executor";
/** BullMQ's own default key prefix: keys are bull:<queue>:..., where BullMQ tools look for them. */
export const DEFAULT_PREFIX = "bull";

/** Where a queue lives: one Redis (the URL carries password, db, TLS and ioredis options) and a name. */
export interface QueueConnectionOptions {
  /** redis://[user:password@]host:port[/db] or rediss://... for TLS; query options go to ioredis. */
  redisUrl: string;
  /** BullMQ queue name (default "cc-executor"). Submitters and workers must agree on it. */
  queueName?: string;
  /** BullMQ key prefix (default "bull"). */
  prefix?: string;
}

export interface ResolvedQueue {
  redisUrl: string;
  queueName: string;
  prefix: string;
}

export function resolveQueue(options: QueueConnectionOptions): ResolvedQueue {
  const queueName = options.queueName ?? DEFAULT_QUEUE_NAME;
  if (!/^[\w.-]+$/.test(queueName)) throw new Error(`invalid queue name ${JSON.stringify(queueName)}: letters, digits, _ . - only`);
  if (!/^rediss?:\/\//.test(options.redisUrl)) throw new Error(`REDIS_URL must start with redis:// or rediss:// (got ${redactUrl(options.redisUrl)})`);
  return { redisUrl: options.redisUrl, queueName, prefix: options.prefix ?? DEFAULT_PREFIX };
}

/**
 * BullMQ connection options: the URL is handed to ioredis as it is (rediss:// turns TLS on,
 * user/password/db and query options such as ?family=6 are ioredis's to parse).
 */
export function bullConnection(q: ResolvedQueue): { url: string; maxRetriesPerRequest: null } {
  return { url: q.redisUrl, maxRetriesPerRequest: null };
}


/** Our own keys and channels, next to BullMQ's under the queue's prefix. */
export function queueKeys(q: ResolvedQueue) {
  const base = `${q.prefix}:${q.queueName}:ccx`;
  return {
    /** Pub/sub: what the workers report about the jobs of one run (activity, done markers). */
    runChannel: (runId: string) => `${base}:run:${runId}`,
    /** Pub/sub: cancel/pause/resume requests from submitters to workers. */
    controlChannel: `${base}:control`,
    /** Set when a job is canceled, so that a worker picking it up later does not run it. */
    cancelKey: (jobId: string) => `${base}:cancel:${jobId}`,
    /** Sorted set of worker ids scored by when their heartbeat record expires. */
    workersSet: `${base}:workers`,
    /** One worker's heartbeat record (JSON), with an expiry. */
    workerKey: (id: string) => `${base}:worker:${id}`,
    /** Epoch ms until which a usage limit paused the whole queue (--on-limit queue). */
    pausedUntilKey: `${base}:paused-until`,
  };
}

/**
 * The job id of one run of one task: resubmitting the same attempt of the same task of the same run
 * finds the job already there instead of adding a second one. BullMQ allows a colon in a custom id
 * only as exactly three segments, so colons in a task id are replaced.
 */
export function queueJobId(req: Pick<TaskRequest, "runId" | "attempt"> & { task: { id: string } }): string {
  return `${req.runId.replace(/:/g, "_")}:${req.task.id.replace(/:/g, "_")}:${req.attempt}`;
}
