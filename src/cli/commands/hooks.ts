import type { Command } from "commander";

export function registerHooks(program: Command): void {
  const hooks = program.command("hooks").description("hooks run before and after executions, claude calls, tasks and task lists (docs/hooks.md)");
  hooks
    .command("list")
    .description("the hooks in effect here (.cc-executor/hooks.json when trusted, else the state directory's hooks.json) and the trusted project files")
    .option("--json", "print JSON (the hook_status answer, plus trusted: [{path, state, files, trusted_at}])")
    .action(async (flags: { json?: boolean }) => (await import("../actions/hooks.js")).hooksList(flags));

  hooks
    .command("trust [file]")
    .description("let a project's hooks file run: records its content, and that of the modules and project programs its hooks run, in the state directory (default ./.cc-executor/hooks.json)")
    .option("--json", "print what was trusted as JSON")
    .action(async (file: string | undefined, flags: { json?: boolean }) => (await import("../actions/hooks.js")).hooksTrust(file, flags));

  hooks
    .command("untrust [file]")
    .description("stop a trusted project hooks file from running (default ./.cc-executor/hooks.json)")
    .option("--json", "print the outcome as JSON")
    .action(async (file: string | undefined, flags: { json?: boolean }) => (await import("../actions/hooks.js")).hooksUntrust(file, flags));
}
