import { statSync } from "node:fs";
import { extname } from "node:path";
import { pathToFileURL } from "node:url";
import { checkAnswer, type HookRun } from "./answer.js";
import type { ModuleHookSpec } from "./config.js";
import type { HookContext } from "./events.js";

const TS_EXTENSIONS = [".ts", ".mts", ".cts"];

type HookFunction = (context: HookContext) => unknown;

/**
 * Loaded functions by file and export. The file's mtime goes into the import URL so that an edited
 * hook is imported afresh (Node caches modules by URL and never forgets one: each edit costs a
 * little memory until restart, which is the price of not restarting).
 */
const loaded = new Map<string, { mtimeMs: number; fn: HookFunction }>();

async function loadFunction(hook: ModuleHookSpec): Promise<HookFunction> {
  const mtimeMs = statSync(hook.modulePath).mtimeMs;
  const key = `${hook.modulePath}#${hook.exportName}`;
  const cached = loaded.get(key);
  if (cached && cached.mtimeMs === mtimeMs) return cached.fn;
  let mod: Record<string, unknown>;
  const url = `${pathToFileURL(hook.modulePath).href}?mtime=${mtimeMs}`;
  try {
    // Node 20 cannot import TypeScript: tsx compiles .ts/.mts/.cts hooks on the fly.
    mod = TS_EXTENSIONS.includes(extname(hook.modulePath))
      ? ((await (await import("tsx/esm/api")).tsImport(url, import.meta.url)) as Record<string, unknown>)
      : ((await import(url)) as Record<string, unknown>);
  } catch (err) {
    throw new Error(`cannot import: ${(err as Error).message}`);
  }
  // A .ts file outside a "type": "module" package compiles to CommonJS: its exports sit under `default`.
  const cjs = mod.default as Record<string, unknown> | undefined;
  const fn = typeof mod[hook.exportName] === "function" ? mod[hook.exportName] : cjs && typeof cjs === "object" ? cjs[hook.exportName] : mod[hook.exportName];
  if (typeof fn !== "function") throw new Error(`export "${hook.exportName}" is ${fn === undefined ? "missing" : `a ${typeof fn}, not a function`}`);
  loaded.set(key, { mtimeMs, fn: fn as HookFunction });
  return fn as HookFunction;
}

/**
 * Calls a module hook with a copy of the context (a hook changes things by answering, not by
 * mutating our objects). A function cannot be killed: on timeout its promise is abandoned and the
 * hook counts as failed; whatever it still does runs on in this process.
 */
export async function runModuleHook(hook: ModuleHookSpec, context: HookContext): Promise<HookRun> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HookRun>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "failed", message: `timed out after ${hook.timeoutS}s` }), hook.timeoutS * 1000);
  });
  const call = (async (): Promise<HookRun> => {
    let value: unknown;
    try {
      const fn = await loadFunction(hook);
      value = await fn({ ...context, env: context.env && { ...context.env } });
    } catch (err) {
      return { kind: "failed", message: err instanceof Error ? err.message : String(err) };
    }
    const check = checkAnswer(value);
    return check.ok ? { kind: "answered", answer: check.answer } : { kind: "failed", message: check.message };
  })();
  try {
    return await Promise.race([call, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
