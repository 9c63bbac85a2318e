import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * What the CLI loads before it does anything: the modules reachable from an entry through static
 * imports (import() is where loading on demand starts; `import type` loads nothing). --version
 * loads next to nothing; --help and each TAB of completion build the whole command tree, so the
 * tree stays declarations and commander; `run` against a running server loads the client, the
 * settings and its output code, not the server, the store, the queue or the logger.
 * (A value import used only as a type counts here: write it as `import type`.)
 */

const ROOT = join(import.meta.dirname, "..", "..");
const STATIC_IMPORT = /^\s*(?:import|export)\s+(type\s+)?(?:[^;]*?\s+from\s+)?["']([^"']+)["']/gm;

function staticClosure(entry: string): { files: string[]; packages: string[] } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [resolve(ROOT, entry)];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const [, typeOnly, spec] of readFileSync(file, "utf8").matchAll(STATIC_IMPORT)) {
      if (typeOnly || spec!.startsWith("node:")) continue;
      if (spec!.startsWith(".")) pending.push(resolve(dirname(file), spec!).replace(/\.js$/, ".ts"));
      else packages.add(spec!.startsWith("@") ? spec!.split("/").slice(0, 2).join("/") : spec!.split("/")[0]!);
    }
  }
  return { files: [...files].map((f) => relative(ROOT, f)).sort(), packages: [...packages].sort() };
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f));
}

describe("what the CLI loads at start", () => {
  it("--version alone loads the version and the stdout guard, nothing of the command tree", () => {
    const { files, packages } = staticClosure("src/cli/main.ts");
    expect(packages).toEqual([]);
    expect(files).toEqual(["src/cli/exit-codes.ts", "src/cli/main.ts", "src/cli/stdout-closed.ts", "src/package-root.ts", "src/version.ts"]);
  });

  it("the command tree (--help, completion, every command) loads commander and the declarations only", () => {
    const { files, packages } = staticClosure("src/cli/run-program.ts");
    expect(packages).toEqual(["commander"]);
    // every command's declaration is there, no implementation
    expect(files).toContain("src/cli/commands/run.ts");
    expect(files.filter((f) => f.startsWith("src/cli/actions/"))).toEqual([]);
    expect(files.filter((f) => !f.startsWith("src/cli/"))).toEqual(["src/package-root.ts", "src/selftest/choices.ts", "src/tasks/model.ts", "src/units.ts", "src/version.ts"]);
  });

  it("`run` loads the client, the settings and its output code: no server, store, queue, process supervisor or process table, logger, message schemas or schema library", () => {
    const { files, packages } = staticClosure("src/cli/actions/run.ts");
    // the settings are parsed without zod (config-fields.ts): building its schema objects cost every
    // command tens of ms; dotenv is required only when a settings file exists
    expect(packages).toEqual(["ws"]);
    const heavy = files.filter((f) => /^src\/(server\/(?!auth\.ts)|store\/|queue\/|mcp\/|tasks\/|claude\/|hooks\/|doors\/|process\/|logger\.ts|protocol\/schemas\.ts)/.test(f));
    expect(heavy).toEqual([]);
  });

  it("zod is imported as a namespace, so that the CLI bundle leaves out what it does not use (its locales)", () => {
    const named = sourceFiles("src").filter((f) => /import\s*\{[^}]*\bz\b[^}]*\}\s*from\s*["']zod["']/.test(readFileSync(join(ROOT, f), "utf8")));
    expect(named).toEqual([]);
  });
});
