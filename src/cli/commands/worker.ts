import type { Command } from "commander";
import { InvalidArgumentError, Option } from "commander";
import { loadConfig, type Config } from "../../config.js";
import { claudeDefaults, commandRefuser, containmentOptions } from "../../doors/index.js";
import { createLogger } from "../../logger.js";
import { loadProjectHooks } from "./hooks.js";
import type { OnLimit } from "../../queue/index.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { info, style } from "../output.js";
import { parsePositiveInt } from "../parse-options.js";

interface WorkerFlags {
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

/** REDIS_URL is required for every distributed-mode command: a clear usage error when it is missing. */
export function requireRedisUrl(config: Config, what: string): string {
  if (!config.redisUrl) {
    throw new CliError(`${what} needs REDIS_URL (e.g. REDIS_URL=redis://host:6379, or rediss://user:password@host:6380 for TLS): the Redis that the submitters and workers share`, ExitCode.usage);
  }
  return config.redisUrl;
}

/** The queue module (BullMQ) is loaded only by the commands that use it: other commands start faster. */
export const loadQueue = () => import("../../queue/index.js");

/** A clear "cannot reach Redis" (exit 3) instead of a hang while ioredis retries. */
export async function ensureRedis(url: string): Promise<void> {
  const { checkRedis, RedisUnreachableError } = await loadQueue();
  try {
    await checkRedis(url);
  } catch (err) {
    if (err instanceof RedisUnreachableError) throw new CliError(err.message, ExitCode.unreachable);
    throw err;
  }
}

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
    .action(async (flags: WorkerFlags) => {
      const config = loadConfig();
      const redisUrl = requireRedisUrl(config, "cc-executor worker");
      await ensureRedis(redisUrl);
      const { startWorker, redactUrl } = await loadQueue();
      const logger = createLogger({ level: config.logLevel });
      const worker = await startWorker({
        redisUrl,
        queueName: flags.queueName ?? config.queueName,
        name: flags.name,
        concurrency: flags.concurrency,
        home: config.home,
        cwd: flags.cwd,
        onLimit: flags.onLimit,
        lockDurationMs: flags.lockDuration,
        stalledIntervalMs: flags.stalledInterval,
        shutdownGraceMs: flags.shutdownGrace * 1000,
        containment: containmentOptions(config),
        secret: config.queueSecret,
        // The same executor options as the server's: claude defaults, hooks of the worker's project, command policy.
        local: {
          shell: config.shell,
          killGraceMs: config.killGraceMs,
          maxBufferBytes: config.maxBufferSize,
          claude: claudeDefaults(config),
          hooks: loadProjectHooks(config, flags.cwd ?? process.cwd(), logger),
          refuseCommand: commandRefuser(config),
        },
        logger,
      }).catch((err: Error) => {
        throw new CliError(`cannot start the worker: ${err.message}`, ExitCode.failure);
      });
      info(style(`worker ${worker.name} ready: queue ${flags.queueName ?? config.queueName} on ${redactUrl(redisUrl)}, concurrency ${flags.concurrency} (pid ${process.pid})`, "green"));

      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals++;
        if (signals === 1) {
          info(style(`${signal}: taking no new tasks; running ones have ${flags.shutdownGrace}s to finish (again to hand them back now)`, "yellow"));
          void worker.close();
        } else {
          info(style(`${signal}: canceling running tasks and handing them back to the queue`, "yellow"));
          void worker.stopNow(`worker ${worker.name} was stopped`);
        }
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      await worker.closed;
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      info(`worker ${worker.name} stopped`);
      // Whatever a Redis client that lost its server may still hold open must not keep us here.
      setTimeout(() => process.exit(), 250).unref();
    });
}
