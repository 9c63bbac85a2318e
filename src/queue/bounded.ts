/** Waiting on Redis without a bound is how a worker hangs when Redis is gone: these put one on it. */

/** Resolves after `ms` (never keeps the process alive by itself). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Whether `work` settled within `ms` (its result or failure is ignored). */
export async function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  const done = work.then(
    () => true,
    () => true,
  );
  return Promise.race([done, sleep(ms).then(() => false)]);
}
