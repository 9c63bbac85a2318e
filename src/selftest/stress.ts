import type { ExecutorClient } from "../client/index.js";
import { DEFAULT_STRESS_COMMAND } from "./choices.js";
import { rssOf } from "./procs.js";

/** `cc-executor test stress`: many real executions through a server, timed and checked. */

export interface StressOptions {
  tasks: number;
  parallel: number;
  /** Shell command for each task; `{i}` is replaced by the task's index (default DEFAULT_STRESS_COMMAND). */
  command?: string;
  /** Run claude tasks (cc_execute) with this prompt instead of shell commands; `{i}` as above. */
  prompt?: string;
  /** Seconds per task (default 60 for commands, 600 for claude tasks). */
  timeoutS?: number;
  /** Opens one more client to the same server: every parallel worker has its own session. */
  connect: () => Promise<ExecutorClient>;
  /** The server's pid when it runs on this machine (its RSS is sampled while the tasks run). */
  serverPid?: number;
  /** Where the tasks ran, for the report (a URL, or "in-process"). */
  target: string;
  onProgress?: (done: number, total: number, last: StressTaskResult) => void;
}

export interface StressTaskResult {
  index: number;
  ok: boolean;
  status: string;
  exit_code?: number | null;
  latency_ms: number;
  error?: string;
}

export interface LatencySummary {
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface StressReport {
  kind: "stress";
  ok: boolean;
  mode: "command" | "claude";
  /** The command or prompt template. */
  work: string;
  target: string;
  tasks: number;
  parallel: number;
  completed: number;
  failed: number;
  wall_ms: number;
  throughput_per_s: number;
  latency_ms: LatencySummary;
  /** Server memory (bytes), when its process is on this machine. */
  server_rss?: { pid: number; before: number; peak: number; after: number };
  failures: StressTaskResult[];
  started_at: string;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function summarizeLatency(samples: number[]): LatencySummary {
  const s = [...samples].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    min: round(s[0] ?? 0),
    p50: round(percentile(s, 50)),
    p90: round(percentile(s, 90)),
    p99: round(percentile(s, 99)),
    max: round(s.at(-1) ?? 0),
    mean: round(s.length ? s.reduce((a, b) => a + b, 0) / s.length : 0),
  };
}

async function runOne(client: ExecutorClient, index: number, options: StressOptions): Promise<StressTaskResult> {
  const t0 = performance.now();
  const latency = () => Math.round((performance.now() - t0) * 10) / 10;
  try {
    if (options.prompt !== undefined) {
      const r = await client.claude(options.prompt.replaceAll("{i}", String(index)), { timeout: options.timeoutS ?? 600 });
      return { index, ok: r.success, status: r.success ? "completed" : (r.error_type ?? "failed"), latency_ms: latency(), error: r.success ? undefined : r.message };
    }
    const command = (options.command ?? DEFAULT_STRESS_COMMAND).replaceAll("{i}", String(index));
    const r = await client.execute(command, { timeout: options.timeoutS ?? 60, maxBuffer: 64 * 1024 });
    // The default command's output is known: check it too, not only the exit code.
    const wrongOutput = options.command === undefined && r.stdout !== `stress-${index}\n`;
    const ok = r.success && !wrongOutput;
    const error = ok ? undefined : wrongOutput && r.success ? `unexpected output ${JSON.stringify(r.stdout.slice(0, 200))}` : (r.stderr.trim().split("\n").at(-1) ?? "").slice(0, 300) || undefined;
    return { index, ok, status: r.status, exit_code: r.exitCode, latency_ms: latency(), error };
  } catch (err) {
    return { index, ok: false, status: "error", latency_ms: latency(), error: (err as Error).message };
  }
}

export async function runStress(options: StressOptions): Promise<StressReport> {
  const started = new Date();
  const parallel = Math.max(1, Math.min(options.parallel, options.tasks));
  const clients = await Promise.all(Array.from({ length: parallel }, () => options.connect()));
  const results: StressTaskResult[] = [];
  const before = options.serverPid ? rssOf(options.serverPid) : undefined;
  let peak = before ?? 0;
  const sample = () => {
    const now = options.serverPid ? rssOf(options.serverPid) : undefined;
    if (now !== undefined) peak = Math.max(peak, now);
  };
  const sampler = options.serverPid ? setInterval(sample, 100) : undefined;
  let next = 0;
  const t0 = performance.now();
  try {
    await Promise.all(
      clients.map(async (client) => {
        while (next < options.tasks) {
          const index = next++;
          const r = await runOne(client, index, options);
          results.push(r);
          options.onProgress?.(results.length, options.tasks, r);
        }
      }),
    );
  } finally {
    if (sampler) clearInterval(sampler);
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  }
  const wallMs = performance.now() - t0;
  sample();
  const after = options.serverPid ? rssOf(options.serverPid) : undefined;
  results.sort((a, b) => a.index - b.index);
  const failures = results.filter((r) => !r.ok);
  return {
    kind: "stress",
    ok: failures.length === 0,
    mode: options.prompt !== undefined ? "claude" : "command",
    work: options.prompt ?? options.command ?? DEFAULT_STRESS_COMMAND,
    target: options.target,
    tasks: options.tasks,
    parallel,
    completed: results.length - failures.length,
    failed: failures.length,
    wall_ms: Math.round(wallMs),
    throughput_per_s: Math.round((results.length / (wallMs / 1000)) * 100) / 100,
    latency_ms: summarizeLatency(results.map((r) => r.latency_ms)),
    server_rss: options.serverPid && before !== undefined && after !== undefined ? { pid: options.serverPid, before, peak, after } : undefined,
    failures,
    started_at: started.toISOString(),
  };
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

export function stressMarkdown(r: StressReport): string {
  const lines = [
    `# cc-executor stress test: ${r.ok ? "PASS" : "FAIL"}`,
    "",
    `- started: ${r.started_at}`,
    `- server: ${r.target}`,
    `- ${r.mode === "claude" ? "claude prompt" : "command"}: \`${r.work}\``,
    `- tasks: ${r.tasks}, parallel sessions: ${r.parallel}`,
    "",
    "| completed | failed | wall time | throughput |",
    "| --- | --- | --- | --- |",
    `| ${r.completed} | ${r.failed} | ${(r.wall_ms / 1000).toFixed(2)} s | ${r.throughput_per_s} tasks/s |`,
    "",
    "Latency per task (request sent to result received), ms:",
    "",
    "| min | p50 | p90 | p99 | max | mean |",
    "| --- | --- | --- | --- | --- | --- |",
    `| ${r.latency_ms.min} | ${r.latency_ms.p50} | ${r.latency_ms.p90} | ${r.latency_ms.p99} | ${r.latency_ms.max} | ${r.latency_ms.mean} |`,
    "",
  ];
  if (r.server_rss) {
    lines.push(`Server memory (pid ${r.server_rss.pid}): RSS ${mib(r.server_rss.before)} before, ${mib(r.server_rss.peak)} peak, ${mib(r.server_rss.after)} after.`, "");
  } else lines.push("Server memory: not measured (the server is not a process on this machine).", "");
  if (r.failures.length > 0) {
    lines.push("## Failures", "", "| task | status | exit | error |", "| --- | --- | --- | --- |");
    for (const f of r.failures.slice(0, 100)) lines.push(`| ${f.index} | ${f.status} | ${f.exit_code ?? ""} | ${(f.error ?? "").replace(/\|/g, "\\|").replace(/\n/g, " ")} |`);
    if (r.failures.length > 100) lines.push(`| … | ${r.failures.length - 100} more | | |`);
    lines.push("");
  }
  return lines.join("\n");
}
