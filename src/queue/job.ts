import { Job, Queue, Worker } from "bullmq";
import * as z from "zod";
import { EnvVars, RunId, Seconds, TokenCount, Usd } from "../protocol/index.js";
import type { TaskRequest } from "../tasks/index.js";
import { JobSignature, signatureProblem } from "./signing.js";

/**
 * What a job carries, checked with the protocol's own field schemas (timeouts, environment, run
 * ids) before a worker acts on it: whoever can write to Redis can put anything there.
 */
const FailurePolicy = z.union([
  z.object({ action: z.literal("stop") }),
  z.object({ action: z.literal("continue") }),
  z.object({ action: z.literal("retry"), times: z.number().int().min(1).max(20) }),
]);

/** A Claude session id as the CLI names them (a UUID): never anything an option parser could take for a flag. */
const SessionId = z.string().regex(/^[0-9A-Za-z][\w-]{0,127}$/, "must be a Claude session id");

const TaskSpecSchema = z.object({
  id: z.string().min(1).max(200),
  index: z.number().int().min(1),
  title: z.string(),
  method: z.enum(["claude", "direct"]),
  prompt: z.string().optional(),
  command: z.string().optional(),
  timeout: Seconds.optional(),
  tools: z.array(z.string().min(1)).optional(),
  model: z.string().min(1).optional(),
  parallelGroup: z.string().optional(),
  onFailure: FailurePolicy.optional(),
  json: z.boolean().optional(),
  maxCostUsd: Usd.optional(),
  maxTokens: TokenCount.optional(),
  resumeSession: z.boolean().optional(),
});

const TaskRequestSchema = z
  .object({
    runId: RunId,
    task: TaskSpecSchema,
    prompt: z.string().optional(),
    command: z.string().optional(),
    timeoutS: Seconds,
    cwd: z.string().min(1),
    env: EnvVars,
    attempt: z.number().int().min(1).max(1000),
    executionId: z.string().min(1).max(200),
    /** What is left of the task's and the list's budgets for this run. */
    budget: z.object({ maxCostUsd: z.number().min(0).max(1_000_000).optional(), maxTokens: z.number().int().min(0).max(1e12).optional() }).optional(),
    /** The Claude session this run continues (a retry or resume after real work). */
    resumeSession: z.object({ sessionId: SessionId, reason: z.string().max(20_000) }).optional(),
    continueSessions: z.literal(false).optional(),
  })
  .refine((r) => (r.task.method === "direct" ? typeof r.command === "string" && r.command.length > 0 : typeof r.prompt === "string"), {
    message: "a direct task needs a command, a claude task a prompt",
    path: ["command"],
  });

export const QueueJobSchema = z.object({
  request: TaskRequestSchema,
  /** Times the job may be taken over from a worker that died (lost its lock) before it counts as failed. */
  maxStalls: z.number().int().min(1).max(21),
  /** Times a worker hit a usage/rate limit with it and handed it back. */
  limitHandbacks: z.number().int().min(0).max(1000).optional(),
  submitter: z.object({ host: z.string(), pid: z.number().int() }),
  /** Present when the submitter has CC_EXECUTOR_QUEUE_SECRET: see signing.ts. */
  signature: JobSignature.optional(),
});

/** What a job carries: the task request (plain data) and how the worker must treat it. */
export type QueueJobData = Omit<z.infer<typeof QueueJobSchema>, "request"> & { request: TaskRequest };

/** The member a job whose stored data is not JSON at all is read with (see ReadableJob). */
export const UNREADABLE = "__unreadable_job_data";

/** The job's data if it is well-formed, else what is wrong with it (field paths as protocol errors name them). */
export function parseJobData(data: unknown): { ok: true; data: QueueJobData } | { ok: false; problem: string } {
  if (data !== null && typeof data === "object" && UNREADABLE in data) return { ok: false, problem: "its data is not JSON" };
  const parsed = QueueJobSchema.safeParse(data);
  if (parsed.success) return { ok: true, data: parsed.data as QueueJobData };
  const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "data"}: ${i.message}`);
  return { ok: false, problem: issues.join("; ") };
}

/** The job's data when a worker may run it, else why not (malformed; with a secret: unsigned, altered, too old). */
export function admitJob(raw: unknown, jobId: string, secret: string | undefined): { data: QueueJobData } | { refusal: string } {
  const parsed = parseJobData(raw);
  if (!parsed.ok) return { refusal: `invalid job: ${parsed.problem}` };
  // The signature covers the data as stored, not as parsed (which drops members it does not know).
  const problem = secret ? signatureProblem(raw as Parameters<typeof signatureProblem>[0], jobId, secret) : undefined;
  return problem ? { refusal: `refused: ${problem}` } : { data: parsed.data };
}

/**
 * A Job that can be read even when its stored data is not JSON (written by hand into Redis):
 * BullMQ would throw while fetching it and leave it active for good. Its data then holds the
 * UNREADABLE member, and the worker fails it like any other malformed job.
 */
export class ReadableJob extends Job {
  static override fromJSON<T = any, R = any, N extends string = string>(queue: ConstructorParameters<typeof Job>[0], json: Parameters<typeof Job.fromJSON>[1], jobId?: string): Job<T, R, N> {
    try {
      return super.fromJSON<T, R, N>(queue, json, jobId);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      return super.fromJSON<T, R, N>(queue, { ...json, data: JSON.stringify({ [UNREADABLE]: String(json.data).slice(0, 200) }) }, jobId);
    }
  }
}


/** A BullMQ Worker whose jobs are ReadableJobs. */
export class JobWorker<D = unknown, R = unknown> extends Worker<D, R> {
  protected override get Job(): typeof Job {
    return ReadableJob as unknown as typeof Job; // the same class, minus its generic construct signature
  }
}

/** A BullMQ Queue whose jobs are ReadableJobs (for `queue status`). */
export class JobQueue extends Queue {
  protected override get Job(): typeof Job {
    return ReadableJob as unknown as typeof Job; // the same class, minus its generic construct signature
  }
}
