import { loadConfig, type Config } from "../../config.js";
import { claudeDefaults, commandRefuser, containmentOptions } from "../../doors/index.js";
import { createLogger } from "../../logger.js";
import type { WorkerFlags } from "../commands/worker.js";
import { CliError, ExitCode } from "../exit-codes.js";
import { info, style } from "../output.js";
import { loadProjectHooks } from "./hooks.js";

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

/** `cc-executor worker`: takes tasks from the queue until a signal stops it. */
export async function runWorker(flags: WorkerFlags): Promise<void> {
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
}
