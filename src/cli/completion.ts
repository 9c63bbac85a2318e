import type { Command, Option } from "commander";
import { loadConfig } from "../config.js";
import { subdirectoryNames } from "../dir-entries.js";
import { statePaths } from "../paths.js";
import { FILES } from "./completion-scripts.js";

/**
 * Shell completion: the scripts (`cc-executor completion bash|zsh|fish`) ask the CLI itself for
 * candidates (`cc-executor __complete <words>`), so they always match this version's commands and
 * options, and can offer run ids from the state directory. A candidate line is `value<TAB>description`;
 * a first line `:files` means "complete a file name". The scripts themselves: completion-scripts.ts.
 */

/** Arguments completed with ids from the state directory, by command path. */
const ID_ARGUMENTS: Record<string, "runs" | "executions" | "any"> = {
  "tasks resume": "runs",
  "tasks show": "runs",
  logs: "any",
  wait: "any",
  "history show": "executions",
};

/** Arguments that are files, by command path. */
const FILE_ARGUMENTS = new Set(["tasks run", "tasks validate"]);

function visible(cmd: Command): Command[] {
  return cmd.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden);
}

function optionNames(cmd: Command): Array<{ flag: string; option: Option }> {
  const out: Array<{ flag: string; option: Option }> = [];
  for (const option of cmd.options as Option[]) {
    if (option.hidden) continue;
    if (option.long) out.push({ flag: option.long, option });
  }
  out.push({ flag: "--help", option: { description: "show help", required: false, optional: false } as Option });
  return out;
}

/** Names of the state directory's run folders: task-list runs (tl-…) and executions, newest first. */
function runIds(kind: "runs" | "executions" | "any"): string[] {
  let dir: string;
  try {
    dir = statePaths(loadConfig().home).runsDir; // a broken configuration completes nothing
  } catch {
    return [];
  }
  const names = subdirectoryNames(dir);
  const runs = names.filter((n) => n.startsWith("tl-")).sort().reverse();
  const executions = names.filter((n) => !n.startsWith("tl-"));
  return kind === "runs" ? runs : kind === "executions" ? executions : [...runs, ...executions];
}

/**
 * Candidates for the last of `words` (the word being typed; the words before it are complete),
 * `words` being what follows `cc-executor` on the command line.
 */
export function completionCandidates(program: Command, words: readonly string[]): string[] {
  const current = words.at(-1) ?? "";
  const before = words.slice(0, -1);
  let cmd = program;
  const path: string[] = [];
  let expectsValue: Option | undefined;
  let positional = 0;
  for (const word of before) {
    if (expectsValue) {
      expectsValue = undefined;
      continue;
    }
    if (word.startsWith("-")) {
      const option = (cmd.options as Option[]).find((o) => o.long === word.split("=")[0] || o.short === word);
      if (option && (option.required || option.optional) && !word.includes("=")) expectsValue = option;
      continue;
    }
    const sub = visible(cmd).find((c) => c.name() === word || c.aliases().includes(word));
    if (sub && positional === 0) {
      cmd = sub;
      path.push(sub.name());
    } else positional++;
  }
  const match = (values: Array<[string, string]>) => values.filter(([v]) => v.startsWith(current)).map(([v, d]) => (d ? `${v}\t${d}` : v));
  if (expectsValue) {
    const choices = (expectsValue as Option & { argChoices?: string[] }).argChoices;
    if (choices) return match(choices.map((c) => [c, ""]));
    return /file|dir|report|config/i.test(expectsValue.flags) ? [FILES] : [];
  }
  if (current.startsWith("-")) return match(optionNames(cmd).map(({ flag, option }) => [flag, option.description ?? ""]));
  const subs = visible(cmd);
  if (subs.length > 0 && positional === 0) return match(subs.map((c) => [c.name(), c.description().split("\n")[0] ?? ""]));
  const argChoices = (cmd.registeredArguments[positional] as (typeof cmd.registeredArguments)[number] & { argChoices?: string[] } | undefined)?.argChoices;
  if (argChoices) return match(argChoices.map((c) => [c, ""]));
  const key = path.join(" ");
  if (ID_ARGUMENTS[key]) return match(runIds(ID_ARGUMENTS[key]).map((id) => [id, ""]));
  if (FILE_ARGUMENTS.has(key)) return [FILES];
  return [];
}

/** Prints the candidates for `cc-executor __complete <words...>`, one a line; never fails (a TAB must not print errors). */
export function writeCandidates(program: Command, words: string[]): void {
  let lines: string[] = [];
  try {
    lines = completionCandidates(program, words.length ? words : [""]);
  } catch {
    lines = [];
  }
  if (lines.length) process.stdout.write(`${lines.join("\n")}\n`);
}
