import { existsSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { DelayedError, Queue, UnrecoverableError, WaitingError, type Job, type Worker } from "bullmq";
import { Redis } from "ioredis";
import { silentLogger, type Logger } from "../logger.js";
import { defaultHome, statePaths } from "../paths.js";
import { GroupRegistry, type GroupRegistryOptions } from "../process/index.js";
import { LocalExecutor, type LocalExecutorOptions, type TaskActivity, type TaskExecution, type TaskOutcome } from "../tasks/index.js";
import { admitJob, JobWorker, type QueueJobData } from "./job.js";
import { isLimitError, LimitPause, resetFrom, type OnLimit } from "./limit-pause.js";
import { bullConnection, queueKeys, resolveQueue, type QueueConnectionOptions, type ResolvedQueue } from "./keys.js";
import { redactUrl } from "../redact-url.js";
import { settledWithin, sleep } from "./bounded.js";
import { boundActivity, DEFAULT_ACTIVITY_CHARS, type ControlMessage, type QueuedOutcome, type RunMessage } from "./messages.js";
import { syntheticOutcome } from "./outcome.js";


export interface StartWorkerOptions extends QueueConnectionOptions {
  /** Shown in `queue status`, stored on every job it runs, given to tasks as CC_EXECUTOR_WORKER (default <host>-<pid>). */
  name?: string;
  /** Jobs run at once (default 1). */
  concurrency?: number;
  /** State directory (process-group records for reaping after a crash, claude run folders). */
  home?: string;
  /** Run every task in this directory instead of the submitter's (which may not exist on this machine). */
  cwd?: string;
  /** How tasks run here: claude defaults, shell, kill grace, buffer sizes (the registry is the worker's). */
  local?: Omit<LocalExecutorOptions, "registry" | "logger">;
  /** A job whose lock is not renewed for this long is taken over by another worker (default 30000 ms). */
  lockDurationMs?: number;
  /** How often workers look for such stalled jobs (default 15000 ms). */
  stalledIntervalMs?: number;
  /** Who waits out a usage/rate limit: this worker only ("worker", default) or every worker ("queue"). */
  onLimit?: OnLimit;
  /** Pause used when a limit gives no reset time (default 60000 ms). */
  limitPauseMs?: number;
  /** Times one job may be handed back for a limit before its failure is reported (default 5). */
  maxLimitHandbacks?: number;
  /** On close: how long running tasks may take to finish before they are canceled and handed back (default 30000 ms). */
  shutdownGraceMs?: number;
  /** How tasks' processes are contained (cgroup or process group) and their cgroup limits (default: cgroup where possible). */
  containment?: GroupRegistryOptions;
  /** Heartbeat period: status record, expired queue pauses, reaping groups of dead processes (default 5000 ms). */
  heartbeatMs?: number;
  /** Largest string in one streamed activity message (default 16 KiB). */
  maxActivityChars?: number;
  /** CC_EXECUTOR_QUEUE_SECRET: run only jobs signed with it (unsigned, altered or stale ones fail without running). */
  secret?: string;
  logger?: Logger;
}

/** A worker's heartbeat record, as `queue status` shows it. */
export interface WorkerRecord {
  id: string;
  name: string;
  host: string;
  pid: number;
  concurrency: number;
  started_at: string;
  heartbeat_at: string;
  /** Jobs running now. */
  running: Array<{ job: string; run_id: string; task_id: string; title: string; started_at: string }>;
  jobs_done: number;
  paused_until?: string;
  closing: boolean;
  on_limit: OnLimit;
}

export interface RunningWorker {
  readonly id: string;
  readonly name: string;
  readonly worker: Worker;
  readonly registry: GroupRegistry;
  /** Resolves when the worker has closed (after close(), or after a fatal error). */
  readonly closed: Promise<void>;
  /**
   * Stops taking jobs, lets the running ones finish for `graceMs` (default: shutdownGraceMs), then
   * cancels what still runs and hands those jobs back to the queue; closes the connections.
   */
  close(options?: { graceMs?: number }): Promise<void>;
  /**
   * A second Ctrl-C: cancels the running tasks now (their kill grace still applies, so nothing is
   * left running), hands their jobs back as far as Redis answers, and closes without waiting on it.
   */
  stopNow(reason: string): Promise<void>;
  status(): WorkerRecord;
}

interface Running {
  job: Job<unknown>;
  /** The job's data, checked (refuseJob). */
  data: QueueJobData;
  exec?: TaskExecution;
  startedAt: number;
  /** Cancel, then move the job back to wait instead of completing it. */
  handBack?: string;
  /** The lock was lost: another worker owns the job now. */
  lockLost?: boolean;
  /** The task's execution has ended (its processes are gone). */
  ended?: boolean;
}

/** On close, after the tasks: how long Redis gets (at most, and within the grace period) to say goodbye before the connections are dropped. */
const CLOSE_CONNECTIONS_MS = 3000;

/**
 * `cc-executor worker`: a BullMQ worker that runs each job's task with the LocalExecutor (the same
 * code path as local mode), streams its activity to the submitter, and obeys cancel/pause/resume.
 * Process groups are recorded in the state directory: groups left by a worker that died (kill -9)
 * are killed when a worker using that directory starts, and by live workers on their heartbeat.
 */
export async function startWorker(options: StartWorkerOptions): Promise<RunningWorker> {
  const q: ResolvedQueue = resolveQueue(options);
  const keys = queueKeys(q);
  const logger = options.logger ?? silentLogger;
  const name = options.name ?? `${hostname()}-${process.pid}`;
  const home = options.home ?? defaultHome();
  const concurrency = options.concurrency ?? 1;
  const lockDuration = options.lockDurationMs ?? 30_000;
  const stalledInterval = options.stalledIntervalMs ?? 15_000;
  const heartbeatMs = options.heartbeatMs ?? 5000;
  const onLimit = options.onLimit ?? "worker";
  const maxChars = options.maxActivityChars ?? DEFAULT_ACTIVITY_CHARS;
  const killGraceMs = options.local?.killGraceMs ?? 3000;
  if (options.cwd && !(existsSync(options.cwd) && statSync(options.cwd).isDirectory())) throw new Error(`--cwd ${options.cwd} is not a directory`);

  // Before taking any job: kill what a previous worker on this state directory left running.
  const registry = new GroupRegistry(statePaths(home).groupsDir, logger, options.containment);
  const reaped = await registry.reapLeftovers(killGraceMs);
  if (reaped.reaped.length + reaped.cgroups.length > 0) {
    logger.warn({ groups: reaped.reaped, cgroups: reaped.cgroups }, `killed what a worker that died left running: ${reaped.reaped.length} process group(s), ${reaped.cgroups.length} cgroup(s)`);
  }

  const executor = new LocalExecutor({ runs: { home, logger }, ...options.local, registry, logger });
  const connection = bullConnection(q);
  const pub = new Redis(q.redisUrl, { maxRetriesPerRequest: null });
  const sub = new Redis(q.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(q.queueName, { connection, prefix: q.prefix });
  for (const [what, emitter] of [["publisher", pub], ["subscriber", sub], ["queue", queue]] as const) {
    (emitter as NodeJS.EventEmitter).on("error", (err: Error) => logger.warn({ err: err.message, connection: what }, "redis connection error (retrying)"));
  }

  const running = new Map<string, Running>();
  const startedAt = new Date().toISOString();
  let jobsDone = 0;
  let closingFlag = false;
  /** Rewrites this worker's status record (set once the record exists; until then a no-op). */
  let recordChanged = (): void => undefined;

  const publish = (runId: string, msg: RunMessage) => pub.publish(keys.runChannel(runId), JSON.stringify(msg));

  const limits = new LimitPause({ onLimit, redis: pub, queue, worker: () => worker, keys, logger, closing: () => closingFlag, changed: () => recordChanged() });

  const processor = async (job: Job<unknown>, token?: string): Promise<QueuedOutcome> => {
    const jobId = job.id!;
    // Before anything else: a job is whatever someone wrote into Redis. A malformed or (with a
    // secret) unsigned/altered one fails as a job, runs nothing, and leaves no trace here.
    const checked = admitJob(job.data, jobId, options.secret);
    if ("refusal" in checked) {
      logger.warn({ jobId, why: checked.refusal }, "refused a job");
      throw new UnrecoverableError(checked.refusal);
    }
    const data = checked.data;
    const req = data.request;
    const t0 = Date.now();
    const entry: Running = { job, data, startedAt: t0 };
    running.set(jobId, entry);
    recordChanged();
    const log = logger.child({ jobId, runId: req.runId, taskId: req.task.id, attempt: req.attempt });
    try {
      const finish = async (outcome: TaskOutcome): Promise<QueuedOutcome> => {
        await publish(req.runId, { job: jobId, worker: name, kind: "done" }).catch(() => undefined);
        jobsDone++;
        return { ...outcome, worker: name };
      };
      if (job.stalledCounter > Math.max(1, data.maxStalls ?? 1)) {
        log.warn({ stalled: job.stalledCounter }, "job lost its worker too often; reporting it failed");
        return finish(syntheticOutcome(req, t0, "failed", "worker_lost", `the task's worker was lost ${job.stalledCounter} times (killed or cut off from Redis); not trying again`));
      }
      if (await pub.exists(keys.cancelKey(jobId))) return finish(syntheticOutcome(req, t0, "canceled", "canceled", "canceled before a worker started it"));
      const cwd = options.cwd ?? req.cwd;
      if (!existsSync(cwd)) {
        return finish(syntheticOutcome(req, t0, "failed", "spawn_failed", `working directory ${cwd} does not exist on worker ${name} (${hostname()}); start the worker with --cwd`));
      }
      log.info({ title: req.task.title, method: req.task.method, stalled: job.stalledCounter }, "task started");
      let limitReset: number | undefined;
      const exec = executor.start({ ...req, cwd, env: { ...req.env, CC_EXECUTOR_WORKER: name } }, (activity: TaskActivity) => {
        if (activity.type === "claude") {
          const reset = resetFrom(activity.event);
          if (reset !== undefined) limitReset = reset;
        }
        void publish(req.runId, { job: jobId, worker: name, kind: "activity", activity: boundActivity(activity, maxChars) }).catch(() => undefined);
      });
      entry.exec = exec;
      void exec.outcome.finally(() => (entry.ended = true));
      if (entry.handBack || entry.lockLost) exec.cancel();
      const outcome = await exec.outcome;
      log.info({ status: outcome.status, ms: Date.now() - t0 }, "task ended");

      if (entry.lockLost) throw new Error("this worker lost the job's lock; another worker runs it now");
      if (entry.handBack && outcome.status !== "completed") {
        await publish(req.runId, { job: jobId, worker: name, kind: "handed-back", reason: entry.handBack }).catch(() => undefined);
        await job.moveToWait(token);
        log.warn({ reason: entry.handBack }, "task canceled and handed back to the queue");
        throw new WaitingError();
      }
      const limited = isLimitError(outcome.error_type);
      const handbacks = data.limitHandbacks ?? 0;
      if (limited && handbacks < (options.maxLimitHandbacks ?? 5)) {
        const until = limitReset && limitReset > Date.now() ? limitReset : Date.now() + (options.limitPauseMs ?? 60_000);
        const reason = `worker ${name}: ${outcome.error_type} until ${new Date(until).toISOString()}`;
        await limits.pause(until, reason);
        await job.updateData({ ...(job.data as object), limitHandbacks: handbacks + 1 }); // limitHandbacks is not signed
        const waiting: TaskActivity = { type: "claude", event: { type: "waiting_for_limit", untilEpochMs: until, reason } };
        await publish(req.runId, { job: jobId, worker: name, kind: "activity", activity: waiting }).catch(() => undefined);
        await publish(req.runId, { job: jobId, worker: name, kind: "handed-back", reason }).catch(() => undefined);
        if (onLimit === "queue") {
          await job.moveToDelayed(until, token);
          throw new DelayedError();
        }
        await job.moveToWait(token);
        throw new WaitingError();
      }
      return await finish(outcome);
    } finally {
      running.delete(jobId);
      recordChanged();
    }
  };

  const worker = new JobWorker<unknown, QueuedOutcome>(q.queueName, processor, {
    connection,
    prefix: q.prefix,
    name,
    concurrency,
    lockDuration,
    stalledInterval,
    // Per-task limits (the task's failure policy) are applied in the processor; this is only the ceiling.
    maxStalledCount: 21,
    autorun: false,
  });
  worker.on("error", (err) => logger.warn({ err: err.message }, "worker error"));
  worker.on("lockRenewalFailed", (jobIds) => {
    for (const id of jobIds) {
      const entry = running.get(id);
      if (!entry) continue;
      entry.lockLost = true;
      entry.exec?.cancel(); // another worker will take the job over: do not run it twice
      logger.error({ jobId: id }, "lost the job's lock (Redis unreachable?): canceled the task so that it does not run twice");
    }
  });

  await sub.subscribe(keys.controlChannel);
  sub.on("message", (_channel: string, text: string) => {
    let msg: ControlMessage;
    try {
      msg = JSON.parse(text) as ControlMessage;
    } catch {
      return;
    }
    const entry = running.get(msg.job);
    if (!entry?.exec) return;
    logger.info({ jobId: msg.job, action: msg.action }, "control request");
    if (msg.action === "cancel") entry.exec.cancel();
    else if (msg.action === "pause") entry.exec.pause();
    else entry.exec.resume();
  });

  const id = `${name}:${hostname()}:${process.pid}:${Date.now().toString(36)}`;
  const status = (): WorkerRecord => ({
    id,
    name,
    host: hostname(),
    pid: process.pid,
    concurrency,
    started_at: startedAt,
    heartbeat_at: new Date().toISOString(),
    running: [...running.entries()].map(([job, r]) => ({ job, run_id: r.data.request.runId, task_id: r.data.request.task.id, title: r.data.request.task.title, started_at: new Date(r.startedAt).toISOString() })),
    jobs_done: jobsDone,
    paused_until: limits.until > Date.now() ? new Date(limits.until).toISOString() : undefined,
    closing: closingFlag,
    on_limit: onLimit,
  });
  const writeRecord = async (): Promise<void> => {
    const ttl = heartbeatMs * 3;
    await pub.multi().set(keys.workerKey(id), JSON.stringify(status()), "PX", ttl).zadd(keys.workersSet, Date.now() + ttl, id).zremrangebyscore(keys.workersSet, "-inf", Date.now()).exec();
  };
  recordChanged = () => void writeRecord().catch(() => undefined);
  const heartbeat = async (): Promise<void> => {
    await writeRecord();
    await limits.resumeQueueIfDue();
    await registry.reapLeftovers(killGraceMs); // groups of a sibling worker on this state directory that died
  };
  await heartbeat();
  let beating = false;
  const beat = setInterval(() => {
    if (beating) return; // reaping a group can take the kill grace period
    beating = true;
    void heartbeat()
      .catch((err: Error) => logger.warn({ err: err.message }, "heartbeat failed"))
      .finally(() => (beating = false));
  }, heartbeatMs);
  beat.unref();

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const runLoop = worker.run().catch((err: Error) => logger.error({ err: err.message }, "worker stopped"));
  await worker.waitUntilReady();
  logger.info({ name, queue: q.queueName, redis: redactUrl(q.redisUrl), concurrency, lockDuration, stalledInterval, onLimit }, "worker ready");

  const handBackAll = (reason: string) => {
    for (const entry of running.values()) {
      if (entry.handBack) continue;
      entry.handBack = reason;
      entry.exec?.cancel();
    }
  };

  /** Every task this worker started has ended (its processes are gone), whatever became of its job. */
  const tasksEnded = async (): Promise<void> => {
    for (;;) {
      const outcomes = [...running.values()].flatMap((e) => (e.exec ? [e.exec.outcome] : []));
      if (outcomes.length === 0) return;
      await Promise.race([Promise.allSettled(outcomes), sleep(100)]);
      if ([...running.values()].every((e) => !e.exec || e.ended)) return;
    }
  };

  let hurry!: () => void;
  const hurried = new Promise<void>((r) => (hurry = r));
  let closing: Promise<void> | undefined;
  const close = (opts: { graceMs?: number } = {}): Promise<void> => {
    closing ??= (async () => {
      closingFlag = true;
      recordChanged();
      clearInterval(beat);
      limits.stop();
      const grace = opts.graceMs ?? options.shutdownGraceMs ?? 30_000;
      const deadline = Date.now() + grace;
      logger.info({ running: running.size, graceMs: grace }, "closing: no new jobs; waiting for running tasks");
      // Take no new jobs. BullMQ's close also waits for Redis, which may be gone or frozen: every
      // wait below has a bound, so the worker stops within its grace period whatever Redis does.
      const bullClosed = worker.close().then(() => runLoop);
      await settledWithin(Promise.race([tasksEnded(), hurried]), grace);
      if (running.size > 0) {
        handBackAll("the worker is shutting down");
        await settledWithin(tasksEnded(), killGraceMs + 2000);
      }
      const tidy = (async () => {
        await bullClosed;
        await pub.multi().del(keys.workerKey(id)).zrem(keys.workersSet, id).exec();
        await queue.close();
        await Promise.allSettled([sub.quit(), pub.quit()]);
      })();
      const goodbye = Math.max(250, Math.min(CLOSE_CONNECTIONS_MS, deadline - Date.now()));
      if (!(await settledWithin(Promise.race([tidy, hurried]), goodbye))) {
        logger.warn("Redis does not answer: dropping the connections");
      }
      await registry.close();
      void worker.close(true).catch(() => undefined);
      void queue.disconnect().catch(() => undefined);
      pub.disconnect();
      sub.disconnect();
      logger.info("worker closed");
      resolveClosed();
    })();
    return closing;
  };

  const stopNow = (reason: string): Promise<void> => {
    handBackAll(reason);
    hurry();
    return close();
  };

  return { id, name, worker, registry, closed, close, stopNow, status };
}
