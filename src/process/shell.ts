import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import type { Logger } from "../logger.js";

export type ShellPreference = "zsh" | "bash" | "sh" | "default";

export interface ResolvedShell {
  name: string;
  path: string;
}

/** Finds an executable on PATH (or checks an absolute path). */
export function findExecutable(name: string, pathEnv: string = process.env.PATH ?? ""): string | undefined {
  const candidates = name.includes("/") ? [name] : pathEnv.split(delimiter).filter(Boolean).map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const warned = new Set<string>();
/** Looked up once per preference and PATH: a search of PATH (an access() per directory) on every command showed in profiles. */
const resolved = new Map<string, ResolvedShell>();

/**
 * Chooses the shell that runs string commands. "default" means zsh when installed (the original's
 * choice), else bash, else /bin/sh; an explicit zsh or bash that is missing falls back the same way,
 * with a warning logged once per missing shell.
 */
export function resolveShell(preference: ShellPreference, logger?: Logger, pathEnv: string = process.env.PATH ?? ""): ResolvedShell {
  const key = `${preference}\0${pathEnv}`;
  let shell = resolved.get(key);
  if (!shell) {
    shell = searchShell(preference, logger, pathEnv);
    resolved.set(key, shell);
  }
  return shell;
}

function searchShell(preference: ShellPreference, logger: Logger | undefined, pathEnv: string): ResolvedShell {
  const order: string[] =
    preference === "sh" ? ["sh"] : preference === "bash" ? ["bash", "sh"] : ["zsh", "bash", "sh"];
  for (const name of order) {
    const path = findExecutable(name, pathEnv);
    if (path) {
      if (name !== order[0] && preference !== "default" && !warned.has(order[0]!)) {
        warned.add(order[0]!);
        logger?.warn({ wanted: order[0], using: path }, `${order[0]} not found; running commands with ${name}`);
      }
      return { name, path };
    }
  }
  return { name: "sh", path: "/bin/sh" };
}
