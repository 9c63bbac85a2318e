import { basename } from "node:path";
import { parse, type ParseEntry } from "shell-quote";

/**
 * The files a command hook runs directly, as written in its command: the program of each simple
 * command when it is given as a path (`./check.sh`, `bin/guard`; a bare name is looked up in PATH,
 * not in the project), and the script an interpreter is given (`node guard.js`, `sh check.sh`,
 * `python3 -u lint.py`); `sh -c '<string>'` is read in turn. Arguments, redirection targets and
 * data files (`test -f tests-pass`, `> summary.json`) are not code and are left out.
 */

const SEPARATORS = new Set([";", "&&", "||", "|", "&", "(", ")", "|&", ";;", "\n"]);
const REDIRECTS = new Set([">", ">>", "<", ">&", "<&", "<(", ">|", "<>"]);
const SHELLS = new Set(["sh", "bash", "zsh", "dash", "ksh"]);
const INTERPRETERS = new Set([...SHELLS, "node", "nodejs", "deno", "bun", "tsx", "ts-node", "python", "python3", "ruby", "perl", "php"]);
/** Interpreter options whose value is code, not a file: nothing after them is a script. */
const INLINE_CODE = new Set(["-e", "--eval", "-p", "--print", "-c", "-m", "-E"]);
/** Interpreter options that take a separate value (skipped with it). */
const WITH_VALUE = new Set(["-r", "--require", "--import", "--loader", "-W", "-X", "-I"]);

export function programsOf(command: string): string[] {
  const out: string[] = [];
  scan(command, out, 0);
  return [...new Set(out)];
}

function scan(command: string, out: string[], depth: number): void {
  if (depth > 3) return;
  // $VAR stays literal: a path built from a variable is not something we can name
  for (const line of command.split("\n")) scanLine(parse(line, (name) => `$${name}`), out, depth);
}

function scanLine(entries: ParseEntry[], out: string[], depth: number): void {
  let atStart = true;
  let interpreter: string | undefined;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (typeof e !== "string") {
      if ("comment" in e) {
        atStart = true;
        interpreter = undefined;
      } else if ("op" in e) {
        if (REDIRECTS.has(e.op)) i++; // the redirection target is data
        else if (SEPARATORS.has(e.op)) {
          atStart = true;
          interpreter = undefined;
        }
      }
      continue;
    }
    if (atStart) {
      if (/^[A-Za-z_]\w*=/.test(e)) continue; // VAR=value before the program
      atStart = false;
      if (e.includes("/")) out.push(e);
      interpreter = INTERPRETERS.has(basename(e)) ? basename(e) : undefined;
      continue;
    }
    if (!interpreter) continue;
    if (e === "-c" && SHELLS.has(interpreter)) {
      const inner = entries[i + 1];
      if (typeof inner === "string") scan(inner, out, depth + 1);
      interpreter = undefined;
    } else if (INLINE_CODE.has(e)) interpreter = undefined;
    else if (WITH_VALUE.has(e)) i++;
    else if (!e.startsWith("-")) {
      out.push(e);
      interpreter = undefined;
    }
  }
}
