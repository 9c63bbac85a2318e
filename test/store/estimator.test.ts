import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  categoryTag,
  claudeComplexity,
  classifyTask,
  commandProgram,
  estimateTimeout,
  historyTimeout,
  percentile,
  SqliteStore,
  type Store,
} from "../../src/store/index.js";

/** A store that only knows durations: history per category, newest first. */
function history(byCategory: Record<string, number[]>): Pick<Store, "recentDurations"> & { asked: Array<[string, number]> } {
  const asked: Array<[string, number]> = [];
  return {
    asked,
    async recentDurations(category, limit) {
      asked.push([category, limit]);
      return (byCategory[category] ?? []).slice(0, limit);
    },
  };
}

describe("percentile (nearest rank)", () => {
  it("picks the nearest-rank value whatever the input order", () => {
    const values = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
    expect(percentile(values, 90)).toBe(9);
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 100)).toBe(10);
    expect(percentile([42], 90)).toBe(42);
    expect(percentile([1, 2, 3], 90)).toBe(3);
    expect(values).toEqual([10, 1, 9, 2, 8, 3, 7, 4, 6, 5]); // not sorted in place
  });

  it("refuses an empty list and a bad p", () => {
    expect(() => percentile([], 90)).toThrow(RangeError);
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });
});

describe("classifyTask", () => {
  it("lets an explicit [category:x] tag win", () => {
    expect(classifyTask("[category:Build] npm run build", "command")).toBe("build");
    expect(classifyTask("Refactor everything [category: docs-small]", "claude")).toBe("docs-small");
    expect(categoryTag("no tag here")).toBeUndefined();
  });

  it("names commands by the program they run", () => {
    expect(classifyTask("npm test", "command")).toBe("cmd:npm");
    expect(classifyTask("sleep 5", "command")).toBe("cmd:sleep");
    expect(commandProgram("cd app && FOO=1 sudo /usr/bin/NPM ci")).toBe("npm");
    expect(commandProgram("time make -j4 | tee log")).toBe("make");
    expect(commandProgram("nice -n 10 pytest -q")).toBe("pytest");
    expect(commandProgram("   ")).toBe("other");
  });

  it("grades claude prompts by keywords and length", () => {
    expect(claudeComplexity("What is 2+2?")).toBe("simple");
    expect(claudeComplexity("Write tests for parser.ts")).toBe("medium");
    expect(claudeComplexity("Review this diff")).toBe("medium");
    expect(claudeComplexity("Refactor the storage layer")).toBe("complex");
    expect(claudeComplexity("Research how WAL mode works")).toBe("complex");
    expect(claudeComplexity(Array(100).fill("word").join(" "))).toBe("medium");
    expect(claudeComplexity(Array(400).fill("word").join(" "))).toBe("complex");
    expect(classifyTask("Say hi", "claude")).toBe("claude:simple");
    expect(classifyTask("Refactor it", "claude")).toBe("claude:complex");
  });
});

describe("estimateTimeout", () => {
  it("uses p90 x 1.2 of the history when there are enough samples", async () => {
    // p90 of 1..10 s is 9 s -> 10.8 s -> 11 s.
    const store = history({ "cmd:npm": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((s) => s * 1000) });
    expect(await estimateTimeout(store, "npm test", "command")).toEqual({ timeout_s: 11, basis: "history", samples: 10, category: "cmd:npm" });
    expect(store.asked).toEqual([["cmd:npm", 50]]);
  });

  it("never goes below the floor of its kind", async () => {
    const store = history({ "cmd:echo": [5, 7, 9], "claude:simple": [2000, 3000, 4000] });
    expect(await estimateTimeout(store, "echo hi", "command")).toMatchObject({ timeout_s: 10, basis: "history", samples: 3 });
    expect(await estimateTimeout(store, "Say hi", "claude")).toMatchObject({ timeout_s: 60, basis: "history", samples: 3 });
  });

  it("is capped at maxS, history or default", async () => {
    const store = history({ "claude:complex": [3_000_000, 3_600_000, 4_000_000] });
    expect(await estimateTimeout(store, "Refactor it", "claude", { maxS: 1800 })).toMatchObject({ timeout_s: 1800, basis: "history" });
    expect(await estimateTimeout(store, "Refactor it", "claude")).toMatchObject({ timeout_s: 4800, basis: "history" });
    expect(await estimateTimeout(history({}), "Refactor it", "claude", { maxS: 600 })).toMatchObject({ timeout_s: 600, basis: "default" });
  });

  it("falls back to per-complexity defaults below minSamples, saying how many samples it saw", async () => {
    const store = history({ "cmd:npm": [1000, 2000], "claude:medium": [1000, 1000] });
    expect(await estimateTimeout(store, "npm test", "command")).toEqual({ timeout_s: 300, basis: "default", samples: 2, category: "cmd:npm" });
    expect(await estimateTimeout(store, "Say hi", "claude")).toEqual({ timeout_s: 300, basis: "default", samples: 0, category: "claude:simple" });
    expect(await estimateTimeout(store, "Review the code", "claude")).toEqual({ timeout_s: 900, basis: "default", samples: 2, category: "claude:medium" });
    expect(await estimateTimeout(store, "Research it", "claude")).toEqual({ timeout_s: 1800, basis: "default", samples: 0, category: "claude:complex" });
    expect(await estimateTimeout(store, "npm test", "command", { minSamples: 2 })).toMatchObject({ timeout_s: 10, basis: "history", samples: 2 });
  });

  it("reads the history of the tagged category, not the one the text looks like", async () => {
    const store = history({ "cmd:npm": [1000, 1000, 1000], slow: [100_000, 200_000, 300_000] });
    expect(await estimateTimeout(store, "npm test [category:slow]", "command")).toEqual({ timeout_s: 360, basis: "history", samples: 3, category: "slow" });
  });

  it("treats a failing store as no history", async () => {
    const broken: Pick<Store, "recentDurations"> = { recentDurations: () => Promise.reject(new Error("down")) };
    expect(await estimateTimeout(broken, "npm test", "command")).toEqual({ timeout_s: 300, basis: "default", samples: 0, category: "cmd:npm" });
  });

  it("learns from executions recorded in a real store (successful ones only)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cce-est-"));
    const store = new SqliteStore({ file: join(dir, "s.db") });
    try {
      const text = "make all";
      const category = classifyTask(text, "command");
      const durations = [20_000, 30_000, 40_000, 50_000];
      for (const [i, ms] of durations.entries()) {
        await store.recordExecutionStart({ id: `m${i}`, kind: "command", label: text, digest: "d", category, started_at: i * 100_000 });
        await store.recordExecutionEnd(`m${i}`, { status: "completed", ended_at: i * 100_000 + ms });
      }
      await store.recordExecutionStart({ id: "slow-fail", kind: "command", label: text, digest: "d", category, started_at: 900_000 });
      await store.recordExecutionEnd("slow-fail", { status: "timeout", ended_at: 9_900_000 });
      expect(await estimateTimeout(store, text, "command")).toEqual({ timeout_s: historyTimeout(durations, "command"), basis: "history", samples: 4, category: "cmd:make" });
      expect(historyTimeout(durations, "command")).toBe(60);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
