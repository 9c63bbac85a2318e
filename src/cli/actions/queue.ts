import { loadConfig } from "../../config.js";
import type { JobRow, QueueStatus } from "../../queue/index.js";
import { info, printJson, style } from "../output.js";
import { ensureRedis, loadQueue, requireRedisUrl } from "./worker.js";

const time = (iso?: string) => (iso ? new Date(iso).toLocaleTimeString() : "");

function jobLine(j: JobRow, extra: string): string {
  return `  ${j.id}  ${j.title ? JSON.stringify(j.title.length > 60 ? `${j.title.slice(0, 57)}...` : j.title) : ""}${extra}`;
}

function printStatus(s: QueueStatus): void {
  const out = process.stdout;
  const state = s.paused ? style(`paused${s.paused_until ? ` until ${time(s.paused_until)} (usage limit)` : ""}`, "yellow", out) : style("running", "green", out);
  const lines = [
    `${style(`queue ${s.queue}`, "bold", out)} on ${s.redis} · ${state}`,
    `jobs: waiting ${s.counts.waiting + s.counts.prioritized} · active ${s.counts.active} · delayed ${s.counts.delayed} · failed ${s.counts.failed} · completed ${s.counts.completed}`,
    `workers (${s.workers.length}):`,
  ];
  if (s.workers.length === 0) lines.push(style("  none (start one with: REDIS_URL=... cc-executor worker)", "dim", out));
  for (const w of s.workers) {
    const flags = [w.paused_until ? style(`paused until ${time(w.paused_until)}`, "yellow", out) : "", w.closing ? style("closing", "yellow", out) : "", w.connected ? "" : style("not seen by BullMQ", "red", out)].filter(Boolean).join(" · ");
    lines.push(`  ${w.name.padEnd(16)} ${w.host} pid ${w.pid} · concurrency ${w.concurrency} · running ${w.running.length} · done ${w.jobs_done}${flags ? ` · ${flags}` : ""}`);
    for (const r of w.running) lines.push(style(`      ${r.job} "${r.title}" since ${time(r.started_at)}`, "dim", out));
  }
  const unknown = s.bullmq_workers.filter((b) => !s.workers.some((w) => w.name === b.name));
  for (const b of unknown) lines.push(`  ${b.name.padEnd(16)} (BullMQ worker without a cc-executor heartbeat, ${b.connections} connection(s))`);
  if (s.active_jobs.length) lines.push("active:", ...s.active_jobs.map((j) => jobLine(j, `  on ${j.worker ?? "?"} since ${time(j.processed_at)}`)));
  if (s.waiting_jobs.length) lines.push("waiting:", ...s.waiting_jobs.map((j) => jobLine(j, `  queued ${time(j.added_at)}`)));
  if (s.failed_jobs.length) lines.push("failed:", ...s.failed_jobs.map((j) => jobLine(j, `  ${style(j.failed_reason ?? "", "red", out)}`)));
  if (s.problems.length) lines.push(style("could not read (written by something else than cc-executor?):", "yellow", out), ...s.problems.map((p) => `  ${p}`));
  out.write(`${lines.join("\n")}\n`);
}

/** `cc-executor queue status`. */
export async function queueStatusCommand(flags: { json?: boolean; queueName?: string; jobs: number }): Promise<void> {
  const config = loadConfig();
  const redisUrl = requireRedisUrl(config, "cc-executor queue status");
  await ensureRedis(redisUrl);
  const { queueStatus } = await loadQueue();
  const status = await queueStatus({ redisUrl, queueName: flags.queueName ?? config.queueName, jobs: flags.jobs });
  if (flags.json) return printJson(status);
  printStatus(status);
}

/** `cc-executor queue pause|resume`. */
export async function pauseOrResume(action: "pause" | "resume", flags: { queueName?: string }): Promise<void> {
  const config = loadConfig();
  const redisUrl = requireRedisUrl(config, `cc-executor queue ${action}`);
  await ensureRedis(redisUrl);
  const name = flags.queueName ?? config.queueName;
  const { Queue } = await import("bullmq");
  const { DEFAULT_PREFIX, redactUrl } = await loadQueue();
  const q = new Queue(name, { connection: { url: redisUrl, maxRetriesPerRequest: null }, prefix: DEFAULT_PREFIX });
  try {
    if (action === "pause") await q.pause();
    else await q.resume();
  } finally {
    await q.close();
  }
  info(`queue ${name} on ${redactUrl(redisUrl)} ${action === "pause" ? "paused" : "resumed"}`);
}
