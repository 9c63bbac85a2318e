import type { Command } from "commander";

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description("check this machine and the server requests go to: Node, claude (found? logged in?), shell, state dir, token file, permissions, runs folder and history use, peer auth, project hooks trusted, process containment (cgroup or process group), server (token, its claude, its state dir, its settings), Redis, SQLite")
    .option("--json", "print the checks as JSON")
    .action(async (flags: { json?: boolean }) => (await import("../actions/doctor.js")).doctor(flags));
}
