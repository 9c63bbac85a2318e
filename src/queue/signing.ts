import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import * as z from "zod";

/**
 * Job signing (CC_EXECUTOR_QUEUE_SECRET): write access to Redis alone must not be enough to run
 * commands on the workers. A submitter that has the shared secret signs each job; a worker that
 * has it refuses jobs that are unsigned, altered, signed for another job id, or too old.
 *
 * The MAC (HMAC-SHA256) covers a canonical encoding of what the worker acts on — the task request,
 * the take-over limit and the submitter — together with the job id, the signing time and a nonce.
 * Replays are bounded: a copy under another job id fails (the id is signed), and a job older than
 * MAX_JOB_AGE_MS is refused; within that window, someone who can write to Redis can delete a job
 * and add the same signed data again under its id (the same task, as its submitter asked for it).
 */

export const JobSignature = z.object({
  v: z.literal(1),
  /** Signing time, ms since the epoch. */
  ts: z.number().int(),
  nonce: z.string().regex(/^[0-9a-f]{32}$/),
  /** hex HMAC-SHA256 */
  mac: z.string().regex(/^[0-9a-f]{64}$/),
});
export type JobSignature = z.infer<typeof JobSignature>;

/** Oldest signed job a worker runs: queued jobs normally start within minutes; a usage limit can hold one for hours. */
export const MAX_JOB_AGE_MS = 24 * 3600 * 1000;

/** Allowed clock difference between a submitter and a worker (a signing time in the future). */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** JSON with object keys sorted at every level and undefined members left out: the same bytes for the same data, whichever order it was built or stored in. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** The part of a job's data a signature covers. */
interface Signed {
  request: unknown;
  maxStalls: unknown;
  submitter: unknown;
}

function mac(data: Signed, jobId: string, ts: number, nonce: string, secret: string): string {
  const payload = canonicalJson({ request: data.request, maxStalls: data.maxStalls, submitter: data.submitter });
  return createHmac("sha256", secret).update(`cc-executor-job-v1\n${jobId}\n${ts}\n${nonce}\n${payload}`).digest("hex");
}

/** The job's data with a signature for `jobId` (`now`: the signing time, for tests of old jobs). */
export function signJob<T extends Signed>(data: T, jobId: string, secret: string, now = Date.now()): T & { signature: JobSignature } {
  // Sign what Redis will hand back: the data after a JSON round trip.
  const stored = JSON.parse(JSON.stringify(data)) as Signed;
  const nonce = randomBytes(16).toString("hex");
  return { ...data, signature: { v: 1, ts: now, nonce, mac: mac(stored, jobId, now, nonce, secret) } };
}

/** Why a worker with `secret` must not run this job, or undefined when it may. */
export function signatureProblem(data: Signed & { signature?: unknown }, jobId: string, secret: string, now = Date.now()): string | undefined {
  if (data.signature === undefined) return "unsigned job (this worker runs only jobs signed with CC_EXECUTOR_QUEUE_SECRET)";
  const sig = JobSignature.safeParse(data.signature);
  if (!sig.success) return "malformed signature";
  const { ts, nonce } = sig.data;
  const expected = Buffer.from(mac(data, jobId, ts, nonce, secret), "hex");
  const given = Buffer.from(sig.data.mac, "hex");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "the job's signature does not match its data and id (altered, copied, or signed with another secret)";
  if (now - ts > MAX_JOB_AGE_MS) return `the job was signed ${Math.round((now - ts) / 3600_000)} h ago, older than the ${MAX_JOB_AGE_MS / 3600_000} h a signed job is valid`;
  if (ts - now > CLOCK_SKEW_MS) return "the job's signing time is in the future (clocks out of step by more than 5 minutes?)";
  return undefined;
}
