import { afterEach, describe, expect, it } from "vitest";
import { MALLOC_TUNED_MARK, serverOnlyMallocEnv, withServerMallocTuning } from "../../src/process/malloc-tuning.js";
import { startProcess } from "../../src/process/index.js";

describe("glibc malloc tuning of the server processes cc-executor starts", () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of ["MALLOC_MMAP_THRESHOLD_", MALLOC_TUNED_MARK]) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it("is added, with its mark, unless the user tuned malloc themselves", () => {
    expect(withServerMallocTuning({ PATH: "/bin" })).toEqual({ PATH: "/bin", MALLOC_MMAP_THRESHOLD_: "65536", [MALLOC_TUNED_MARK]: "1" });
    expect(withServerMallocTuning({ PATH: "/bin", MALLOC_ARENA_MAX: "2" })).toEqual({ PATH: "/bin", MALLOC_ARENA_MAX: "2" });
    expect(withServerMallocTuning({ GLIBC_TUNABLES: "glibc.malloc.trim_threshold=0" })).toEqual({ GLIBC_TUNABLES: "glibc.malloc.trim_threshold=0" });
    expect(serverOnlyMallocEnv({ MALLOC_MMAP_THRESHOLD_: "65536" })).toEqual([]); // the user's own: passed on
  });

  it("a command does not inherit the server's tuning, but gets a value its request sets", async () => {
    Object.assign(process.env, { MALLOC_MMAP_THRESHOLD_: "65536", [MALLOC_TUNED_MARK]: "1" });
    const plain = await (await startProcess({ command: ["env"] })).done;
    expect(plain.stdout).toContain("PATH=");
    expect(plain.stdout).not.toMatch(/MALLOC_MMAP_THRESHOLD_|CC_EXECUTOR_MALLOC_TUNED/);
    const asked = await (await startProcess({ command: ["env"], env: { MALLOC_MMAP_THRESHOLD_: "4096" } })).done;
    expect(asked.stdout).toContain("MALLOC_MMAP_THRESHOLD_=4096");
    // the user's own tuning (no mark) is theirs to pass on
    delete process.env[MALLOC_TUNED_MARK];
    const users = await (await startProcess({ command: ["env"] })).done;
    expect(users.stdout).toContain("MALLOC_MMAP_THRESHOLD_=65536");
  });
});
