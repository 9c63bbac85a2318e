/**
 * glibc's malloc keeps the 64 KiB buffers Node allocates for each pipe read in its heap after
 * they are freed (its mmap and trim thresholds grow with the largest block freed), so a server's
 * RSS stayed 20-40 MiB higher after one large stream. With blocks of 64 KiB and more allocated by
 * mmap they go back to the kernel when freed. glibc reads this only at process start, so it is put
 * into the environment of the server processes cc-executor starts itself (`server start --daemon`,
 * background servers, `npm start`); other C libraries (macOS, musl) ignore it. Whoever set any
 * MALLOC_* variable or GLIBC_TUNABLES keeps their own settings.
 */
export const MALLOC_TUNING: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: "65536" };

/** Set next to the tuning: says that it was added by cc-executor, not by the user. */
export const MALLOC_TUNED_MARK = "CC_EXECUTOR_MALLOC_TUNED";

/** The environment for a server process cc-executor starts: `base` plus the tuning, unless the user tuned malloc. */
export function withServerMallocTuning(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const userTuned = Object.keys(base).some((name) => name.startsWith("MALLOC_") || name === "GLIBC_TUNABLES");
  return userTuned ? base : { ...base, ...MALLOC_TUNING, [MALLOC_TUNED_MARK]: "1" };
}

/** What a command run by this process must not inherit: the server's own malloc tuning, when cc-executor added it. */
export function serverOnlyMallocEnv(env: NodeJS.ProcessEnv): string[] {
  return env[MALLOC_TUNED_MARK] === "1" ? [...Object.keys(MALLOC_TUNING), MALLOC_TUNED_MARK] : [];
}
