import type { Command } from "commander";
import { parsePositiveInt } from "../parse-options.js";

export function registerQueue(program: Command): void {
  const queue = program.command("queue").description("distributed mode: the Redis queue that `cc-executor worker` processes take tasks from");

  queue
    .command("status")
    .description("workers, waiting/active/failed jobs, job counts, paused or not")
    .option("--json", "print JSON")
    .option("--queue-name <name>", "queue name (default CC_EXECUTOR_QUEUE, else cc-executor)")
    .option("-n, --jobs <n>", "list at most n jobs of each kind", parsePositiveInt, 20)
    .action(async (flags: { json?: boolean; queueName?: string; jobs: number }) => (await import("../actions/queue.js")).queueStatusCommand(flags));

  for (const action of ["pause", "resume"] as const) {
    queue
      .command(action)
      .description(action === "pause" ? "stop every worker from taking new tasks (running ones finish)" : "let workers take tasks again")
      .option("--queue-name <name>", "queue name (default CC_EXECUTOR_QUEUE, else cc-executor)")
      .action(async (flags: { queueName?: string }) => (await import("../actions/queue.js")).pauseOrResume(action, flags));
  }
}
