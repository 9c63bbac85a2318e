import { hostname } from "node:os";
import { Job, Queue, QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import { silentLogger, type Logger } from "../logger.js";
import type { TaskActivity, TaskExecution, TaskExecutor, TaskOutcome, TaskRequest } from "../tasks/index.js";
import type { QueueJobData } from "./job.js";
import { bullConnection, queueJobId, queueKeys, resolveQueue, type QueueConnectionOptions, type ResolvedQueue } from "./keys.js";
import type { ControlMessage, QueuedOutcome, RunMessage } from "./messages.js";
import { syntheticOutcome } from "./outcome.js";
import { signJob } from "./signing.js";

export interface QueueExecutorOptions extends QueueConnectionOptions {
  /** Seconds finished jobs are kept in Redis, so that resubmitting a finished task finds its result (default 7 days). */
  keepJobsS?: number;
  /** Milliseconds to wait for a job's last streamed activity after it completed (default 2000). */
  doneGraceMs?: number;
  /**
   * How often the jobs being waited for are looked up directly (default 15000 ms): a job that is
   * gone (Redis restarted without persistence, removed by hand) ends as a failed outcome instead
   * of a wait forever, and a completion whose event was missed is still seen.
   */
  checkIntervalMs?: number;
  /** CC_EXECUTOR_QUEUE_SECRET: sign each job, so that workers holding the same secret run it (and nothing unsigned). */
  secret?: string;
  logger?: Logger;
}

interface Watch {
  req: TaskRequest;
  startedAt: number;
  onActivity: (activity: TaskActivity) => void;
  /** The job is running on a worker (its process started): pause/resume can reach it. */
  active: boolean;
  canceled: boolean;
  enqueued: boolean;
  /** The job already had its result when we came to it: no worker will stream anything. */
  reused: boolean;
  done: Promise<void>;
  markDone: () => void;
  /** Ends the wait with this outcome (canceled while queued, job gone, missed completion). */
  settle: (outcome: TaskOutcome) => void;
  worker?: string;
}

const ACTIVE_STATES = new Set(["waiting", "wait", "active", "delayed", "prioritized", "waiting-children", "paused"]);

/**
 * Runs each task as one BullMQ job on whichever worker takes it. The task-list runner calls start()
 * only when the previous task (or parallel group) has finished, so order across workers is the
 * runner's own; this class only moves one request to a worker and its outcome back.
 *
 * - start() adds a job with id `<run>:<task>:<attempt>` and the TaskRequest as data. A job with that
 *   id that is still queued or running is attached to, not added again; one that completed its task
 *   gives its outcome at once (a resumed run does not repeat work a worker finished meanwhile);
 *   one that failed or was canceled is removed and queued again.
 * - Workers publish the task's activity on the run's pub/sub channel, then a "done" marker, then
 *   complete the job; the outcome is the job's return value (QueueEvents / waitUntilFinished).
 * - cancel() removes a job that is still queued, else asks its worker (pub/sub, and a key the worker
 *   checks before it starts a job) to kill the task's process group.
 */
export class QueueExecutor implements TaskExecutor {
  readonly queue: Queue;
  readonly q: ResolvedQueue;
  private readonly events: QueueEvents;
  private readonly sub: Redis;
  private readonly pub: Redis;
  private readonly keys: ReturnType<typeof queueKeys>;
  private readonly logger: Logger;
  private readonly watches = new Map<string, Watch>();
  private readonly subscriptions = new Map<string, Promise<unknown>>();
  private readonly ready: Promise<void>;
  private readonly checker: NodeJS.Timeout;
  private checking = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: QueueExecutorOptions) {
    this.q = resolveQueue(options);
    this.keys = queueKeys(this.q);
    this.logger = options.logger ?? silentLogger;
    const connection = bullConnection(this.q);
    this.queue = new Queue(this.q.queueName, { connection, prefix: this.q.prefix });
    this.queue.setMaxListeners(0); // one 'closing' listener per job being waited for
    this.events = new QueueEvents(this.q.queueName, { connection, prefix: this.q.prefix });
    this.events.setMaxListeners(0);
    this.sub = new Redis(this.q.redisUrl, { maxRetriesPerRequest: null });
    this.pub = new Redis(this.q.redisUrl, { maxRetriesPerRequest: null });
    for (const [name, emitter] of [["queue", this.queue], ["queue events", this.events], ["subscriber", this.sub], ["publisher", this.pub]] as const) {
      (emitter as NodeJS.EventEmitter).on("error", (err: Error) => this.logger.warn({ err: err.message, connection: name }, "redis connection error (retrying)"));
    }
    this.sub.on("message", (_channel: string, text: string) => this.onRunMessage(text));
    this.ready = Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]).then(() => undefined);
    this.ready.catch(() => undefined);
    this.checker = setInterval(() => void this.checkJobs(), options.checkIntervalMs ?? 15_000);
    this.checker.unref();
  }

  start(req: TaskRequest, onActivity: (activity: TaskActivity) => void): TaskExecution {
    const jobId = queueJobId(req);
    const startedAt = Date.now();
    let markDone!: () => void;
    let settle!: (o: TaskOutcome) => void;
    const done = new Promise<void>((r) => (markDone = r));
    const settled = new Promise<TaskOutcome>((r) => (settle = r));
    const watch: Watch = { req, startedAt, onActivity, active: false, canceled: false, enqueued: false, reused: false, done, markDone, settle };
    this.watches.set(jobId, watch);

    const outcome = (async (): Promise<TaskOutcome> => {
      await this.subscribeRun(req.runId);
      await this.ready;
      if (watch.canceled) return syntheticOutcome(req, startedAt, "canceled", "canceled", "canceled before it was queued");
      const job = await this.enqueue(jobId, req, watch);
      watch.enqueued = true;
      if (watch.canceled) this.requestCancel(jobId, req, startedAt, watch);
      const finished = job.waitUntilFinished(this.events).then(
        (value) => value as QueuedOutcome,
        (err: Error) => syntheticOutcome(req, startedAt, "failed", /stalled/i.test(err.message) ? "worker_lost" : "queue_failed", `the job failed on the queue: ${err.message}`),
      );
      const result = await Promise.race([finished, settled]);
      if (!watch.reused) await Promise.race([watch.done, new Promise((r) => setTimeout(r, this.options.doneGraceMs ?? 2000).unref())]);
      return result;
    })()
      .catch((err: Error) => syntheticOutcome(req, startedAt, "failed", "queue_error", `could not run the task through the queue: ${err.message}`))
      .finally(() => this.watches.delete(jobId));

    return {
      outcome,
      cancel: () => {
        if (watch.canceled) return;
        watch.canceled = true;
        if (watch.enqueued) this.requestCancel(jobId, req, startedAt, watch);
      },
      pause: () => this.control(jobId, watch, "pause"),
      resume: () => this.control(jobId, watch, "resume"),
    };
  }

  /** Adds the job, or finds the one a previous submission of this very attempt left. */
  private async enqueue(jobId: string, req: TaskRequest, watch: Watch): Promise<Job> {
    const existing = await this.queue.getJob(jobId);
    if (existing) {
      const state = await existing.getState();
      if (state === "completed" && (existing.returnvalue as TaskOutcome | null)?.status === "completed") {
        watch.reused = true;
        this.logger.info({ jobId }, "task already completed on the queue; using its outcome");
        return existing;
      }
      if (ACTIVE_STATES.has(state)) {
        this.logger.info({ jobId, state }, "task already on the queue; waiting for it");
        return existing;
      }
      await existing.remove().catch(() => undefined); // failed or canceled earlier: run it again
    }
    await this.pub.del(this.keys.cancelKey(jobId));
    const policy = req.task.onFailure;
    const data: QueueJobData = {
      request: req,
      maxStalls: Math.max(1, policy?.action === "retry" ? policy.times : 1),
      submitter: { host: hostname(), pid: process.pid },
    };
    const keep = { age: this.options.keepJobsS ?? 7 * 24 * 3600 };
    const signed = this.options.secret ? signJob(data, jobId, this.options.secret) : data;
    return this.queue.add(req.task.method, signed, { jobId, removeOnComplete: keep, removeOnFail: keep, attempts: 1 });
  }

  private requestCancel(jobId: string, req: TaskRequest, startedAt: number, watch: Watch): void {
    void (async () => {
      await this.pub.set(this.keys.cancelKey(jobId), "1", "EX", 24 * 3600);
      const removed = await this.queue.remove(jobId).catch(() => 0);
      if (removed === 1) {
        watch.reused = true; // no worker has it: nothing more will be streamed
        watch.settle(syntheticOutcome(req, startedAt, "canceled", "canceled", "canceled while queued"));
        return;
      }
      const msg: ControlMessage = { job: jobId, action: "cancel" };
      await this.pub.publish(this.keys.controlChannel, JSON.stringify(msg));
    })().catch((err: Error) => this.logger.warn({ err: err.message, jobId }, "could not cancel the job"));
  }

  private control(jobId: string, watch: Watch, action: "pause" | "resume"): boolean {
    if (!watch.active) return false;
    const msg: ControlMessage = { job: jobId, action };
    void this.pub.publish(this.keys.controlChannel, JSON.stringify(msg)).catch(() => undefined);
    return true;
  }

  private subscribeRun(runId: string): Promise<unknown> {
    let sub = this.subscriptions.get(runId);
    if (!sub) {
      sub = this.sub.subscribe(this.keys.runChannel(runId));
      this.subscriptions.set(runId, sub);
    }
    return sub;
  }

  private onRunMessage(text: string): void {
    let msg: RunMessage;
    try {
      msg = JSON.parse(text) as RunMessage;
    } catch {
      return;
    }
    const watch = this.watches.get(msg.job);
    if (!watch) return;
    watch.worker = msg.worker;
    if (msg.kind === "done") return watch.markDone();
    if (msg.kind === "handed-back") {
      watch.active = false;
      this.logger.info({ jobId: msg.job, worker: msg.worker, reason: msg.reason }, "a worker handed the task back to the queue");
      return;
    }
    const a = msg.activity;
    if (a.type === "process.started" || (a.type === "claude" && a.event.type === "attempt_started")) watch.active = true;
    try {
      watch.onActivity(a);
    } catch (err) {
      this.logger.warn({ err }, "onActivity listener threw");
    }
  }

  /** Looks the awaited jobs up directly: a vanished job must not leave its run waiting forever. */
  private async checkJobs(): Promise<void> {
    if (this.checking || this.closing) return;
    this.checking = true;
    try {
      for (const [jobId, w] of this.watches) {
        if (!w.enqueued || w.canceled) continue;
        const job = await this.queue.getJob(jobId);
        if (!job) {
          w.reused = true;
          w.settle(syntheticOutcome(w.req, w.startedAt, "failed", "queue_lost", `job ${jobId} is gone from the queue (Redis restarted without persistence, or the job was removed); run the list again or resume it`));
          continue;
        }
        const state = await job.getState();
        if (state === "completed") w.settle(job.returnvalue as TaskOutcome);
        else if (state === "failed") w.settle(syntheticOutcome(w.req, w.startedAt, "failed", /stalled/i.test(job.failedReason) ? "worker_lost" : "queue_failed", `the job failed on the queue: ${job.failedReason}`));
      }
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, "could not check the queued jobs (Redis unreachable?)");
    } finally {
      this.checking = false;
    }
  }

  /** Closes the Redis connections (jobs already queued stay queued). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.checker);
      await Promise.allSettled([this.events.close(), this.queue.close()]);
      await Promise.allSettled([this.sub.quit(), this.pub.quit()]);
    })();
    return this.closing;
  }
}
