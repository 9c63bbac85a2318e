import { parse, type ParseEntry } from "shell-quote";

/**
 * Optional command policy: regular expressions matched against every simple command of a request
 * (split at ; && || | & and subshells, backticks included), not just its first word, so that
 * `echo ok; rm -rf ~` is judged by its `rm -rf ~` part too. A guard rail, not a sandbox: a shell
 * can always build a command at run time (eval, variables), which no static check can see.
 */
export interface CommandPolicy {
  allow: RegExp[];
  deny: RegExp[];
}

export function compilePolicy(allow: readonly string[], deny: readonly string[]): CommandPolicy | undefined {
  if (allow.length === 0 && deny.length === 0) return undefined;
  const compile = (p: string) => {
    try {
      return new RegExp(p);
    } catch (err) {
      throw new Error(`invalid command policy pattern /${p}/: ${(err as Error).message}`);
    }
  };
  return { allow: allow.map(compile), deny: deny.map(compile) };
}

const SEPARATORS = new Set([";", "&&", "||", "|", "&", "(", ")", "|&", ";;", "\n"]);
const REDIRECTS = new Set([">", ">>", "<", ">&", "<&", "<(", ">|"]);

/** The simple commands of a shell string (or the one command of an argv), as space-joined words. */
export function simpleCommands(command: string | readonly string[]): string[] {
  if (typeof command !== "string") return [command.join(" ")];
  const out: string[] = [];
  // Backtick substitutions are commands of their own: judge them separately.
  const withoutBackticks = command.replace(/`([^`]*)`/g, (_, inner: string) => {
    out.push(...simpleCommands(inner));
    return "__SUBST__";
  });
  for (const line of withoutBackticks.split("\n")) collect(parse(line, (name) => `$${name}`), out);
  return out.filter((c) => c !== "");
}

function collect(entries: ParseEntry[], out: string[]): void {
  let words: string[] = [];
  const flush = () => {
    out.push(words.join(" ").trim());
    words = [];
  };
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (typeof e === "string") {
      if (e === "$" && isOp(entries[i + 1], "(")) continue; // $( ... ): the inner command is split by the ops around it
      words.push(e);
    } else if ("op" in e) {
      if (SEPARATORS.has(e.op)) flush();
      else if (REDIRECTS.has(e.op)) i++; // skip the redirection target
    } else if ("comment" in e) {
      break;
    }
  }
  flush();
}

function isOp(e: ParseEntry | undefined, op: string): boolean {
  return typeof e === "object" && e !== null && "op" in e && e.op === op;
}

/** Returns why the command is refused, or undefined when the policy allows it. */
export function refusalReason(policy: CommandPolicy | undefined, command: string | readonly string[]): string | undefined {
  if (!policy) return undefined;
  for (const part of simpleCommands(command)) {
    const denied = policy.deny.find((re) => re.test(part));
    if (denied) return `"${part}" matches the deny pattern ${denied}`;
    if (policy.allow.length > 0 && !policy.allow.some((re) => re.test(part))) return `"${part}" matches no allow pattern`;
  }
  return undefined;
}

/** The configured policy as a function for executors: a reason to refuse a command, or undefined. */
export function commandRefuser(config: { allowCommands: readonly string[]; denyCommands: readonly string[] }): ((command: string) => string | undefined) | undefined {
  const policy = compilePolicy(config.allowCommands, config.denyCommands);
  return policy ? (command) => refusalReason(policy, command) : undefined;
}

/**
 * A request's own CLAUDE_BIN picks the program run as claude: with a command policy configured,
 * that program must be one the policy allows as a command. The reason it is refused, or undefined.
 */
export function claudeBinRefusal(policy: CommandPolicy | undefined, env: Record<string, string> | null | undefined): string | undefined {
  const bin = env?.CLAUDE_BIN?.trim();
  if (!policy || !bin) return undefined;
  const reason = refusalReason(policy, [bin]);
  return reason ? `CLAUDE_BIN=${bin}: ${reason}` : undefined;
}
