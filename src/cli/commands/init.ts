import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { Command } from "commander";
import { info, printJson, style } from "../output.js";

const TEMPLATES = new URL("../../../templates/", import.meta.url);

/** What `init` writes into a project: [template file, destination relative to the project]. */
const FILES: Array<[string, string]> = [
  ["cc_execute.md", "cc_execute.md"],
  ["tasks.example.md", "tasks.example.md"],
  ["config.env", join(".cc-executor", "config.env")],
];

export interface InitResult {
  written: string[];
  skipped: string[];
}

export function initProject(dir: string, force = false): InitResult {
  const result: InitResult = { written: [], skipped: [] };
  for (const [template, dest] of FILES) {
    const target = join(dir, dest);
    if (existsSync(target) && !force) {
      result.skipped.push(dest);
      continue;
    }
    mkdirSync(join(target, ".."), { recursive: true });
    writeFileSync(target, readFileSync(new URL(template, TEMPLATES)));
    result.written.push(dest);
  }
  return result;
}

export function registerInit(program: Command): void {
  program
    .command("init")
    .description("write cc_execute.md (the orchestrator prompt), a sample task list and a commented config into this project")
    .option("-C, --dir <dir>", "project directory (default: this one)")
    .option("-f, --force", "overwrite files that exist")
    .option("--json", "print what was written as JSON")
    .action((flags: { dir?: string; force?: boolean; json?: boolean }) => {
      const dir = flags.dir ?? process.cwd();
      const result = initProject(dir, flags.force);
      if (flags.json) return printJson(result);
      for (const f of result.written) info(`${style("wrote", "green")}   ${f}`);
      for (const f of result.skipped) info(`${style("kept", "yellow")}    ${f} (exists; --force to overwrite)`);
      info(
        `\nNext: tell your orchestrating Claude session to read ${relative(process.cwd(), join(dir, "cc_execute.md")) || "cc_execute.md"}, or run the sample:\n  cc-executor tasks run ${join(relative(process.cwd(), dir), "tasks.example.md")}`,
      );
    });
}
