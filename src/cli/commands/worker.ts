import { InvalidArgumentError, Option, type Command } from "commander";
import type { OnLimit } from "../../queue/index.js";
import { parsePositiveInt } from "../parse-options.js";

export interface WorkerFlags {
  concurrency: number;
  name?: string;
  queueName?: string;
  cwd?: string;
  onLimit: OnLimit;
  lockDuration?: number;
  stalledInterval?: number;
  shutdownGrace: number;
}

const nonNegativeSeconds = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`expected a number of seconds >= 0, got "${value}"`);
  return n;
};

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description("take tasks from the Redis queue (distributed mode) and run them here, as local mode would")
    .option("-c, --concurrency <n>", "tasks run at once", parsePositiveInt, 1)
    .option("-n, --name <name>", "worker name shown in `queue status` and given to tasks as CC_EXECUTOR_WORKER (default <host>-<pid>)")
    .option("--queue-name <name>", "queue name (default CC_EXECUTOR_QUEUE, else cc-executor)")
    .option("-C, --cwd <dir>", "run every task in this directory instead of the submitter's working directory")
    .addOption(new Option("--on-limit <who>", "who waits out a Claude usage/rate limit: this worker, or every worker (the whole queue)").choices(["worker", "queue"]).default("worker"))
    .option("--lock-duration <ms>", "a task whose worker stops renewing its lock for this long is taken over by another worker (default 30000)", parsePositiveInt)
    .option("--stalled-interval <ms>", "how often workers look for tasks whose worker died (default 15000)", parsePositiveInt)
    .option("--shutdown-grace <seconds>", "on SIGTERM/SIGINT: how long running tasks may take to finish before they are canceled and handed back to the queue", nonNegativeSeconds, 30)
    .addHelpText(
      "after",
      `
Needs REDIS_URL. Anyone who can write to that Redis can run commands on this machine through this
worker: protect it (password, TLS with rediss://, a private network). See docs/distributed.md.

SIGTERM or Ctrl-C: no new tasks; running ones get --shutdown-grace seconds to finish, then they are
canceled and handed back to the queue. A second signal hands them back at once.

Examples:
  REDIS_URL=redis://queue-host:6379 cc-executor worker --concurrency 2 --name box-a
  REDIS_URL=rediss://:secret@queue-host:6380 cc-executor worker --cwd /srv/checkout --on-limit queue`,
    )
    .action(async (flags: WorkerFlags) => (await import("../actions/worker.js")).runWorker(flags));
}
