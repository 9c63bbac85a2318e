/*
 * A scripted model for the Messages API double, for tests of continued sessions and budgets: the
 * task's prompt names what it does (`SCRIPT: <name>`), and a request that continues a session (its
 * last user message is cc-executor's "continue and finish" prompt) is told apart from a first one.
 */
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { reply, userText, type ApiRequest, type Handler } from "./messages-api.js";

const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/gi;

/** The execution UUID the model must end with: the newest one in the conversation's user texts (a continuation brings its own). */
export function latestUuid(req: ApiRequest): string | undefined {
  const texts = req.turns.filter((m) => m.role === "user").map((m) => userText(m));
  for (const text of texts.reverse()) {
    const all = text.match(UUID_RE);
    if (all) return all.at(-1);
  }
  return undefined;
}

/** Whether this request continues a session: its last user text is cc-executor's continuation prompt. */
export function isContinuation(req: ApiRequest): boolean {
  const lastUser = [...req.turns].reverse().find((m) => m.role === "user" && userText(m).trim() !== "");
  return /Your previous run of this task stopped before it was finished/.test(userText(lastUser));
}

export const finalAnswer = (req: ApiRequest, text: string) => reply.text(`${text}\n\n${latestUuid(req) ?? ""}`);

/**
 * Deletes every saved session under a CLAUDE_CONFIG_DIR (what a lost ~/.claude does to --resume) and
 * returns the files deleted. Only once no claude runs with that dir: 2.1.333 writes a session's file
 * with a delay, so a file deleted under a running CLI can come back whole.
 */
export function forgetSessions(claudeConfigDir: string): string[] {
  const projects = join(claudeConfigDir, "projects");
  const deleted: string[] = [];
  for (const dir of readdirSync(projects)) {
    for (const f of readdirSync(join(projects, dir))) {
      if (!f.endsWith(".jsonl")) continue;
      rmSync(join(projects, dir, f));
      deleted.push(join(projects, dir, f));
    }
  }
  return deleted;
}

/**
 * SCRIPT: work-then-stall   writes step1.txt with Bash, then stalls (a timeout or a kill ends the run); continued: finishes
 * SCRIPT: no-uuid-once      answers without the UUID; continued: with it
 * SCRIPT: steps             runs `echo step<n>` with Bash until 5 turns, then answers (a budget stops it first)
 * anything else             answers with the UUID
 */
export function scriptedWorker(): Handler {
  return (req) => {
    const script = /SCRIPT: ([\w-]+)/.exec(req.prompt)?.[1];
    if (isContinuation(req)) return finalAnswer(req, "Finished after continuing the session");
    switch (script) {
      case "work-then-stall":
        if (req.toolResults.length === 0) return reply.toolUse("Bash", { command: "printf 'step 1 done\\n' > step1.txt", description: "first step" });
        return reply.stall();
      case "no-uuid-once":
        return reply.text("All done (but no UUID)");
      case "steps":
        if (req.turn < 5) return reply.toolUse("Bash", { command: `echo step${req.turn + 1}`, description: "a step" });
        return finalAnswer(req, "All steps done");
      default:
        return finalAnswer(req, "Done");
    }
  };
}
