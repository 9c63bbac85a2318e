import * as z from "zod";
import type { HookAnswer } from "./events.js";

/**
 * Reading a hook's answer. Unknown fields are ignored (a script may print more than we need);
 * fields we do use must have the right type, or the hook counts as failed rather than being
 * half-applied.
 */
const AnswerSchema = z.object({
  proceed: z.boolean().optional(),
  message: z.string().optional(),
  command: z.string().min(1, "must not be empty").optional(),
  prompt: z.string().min(1, "must not be empty").optional(),
  env: z
    .record(z.string(), z.string())
    .superRefine((env, ctx) => {
      for (const name of Object.keys(env)) {
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) ctx.addIssue({ code: "custom", path: [name], message: "not a valid variable name" });
      }
    })
    .optional(),
});

export type AnswerCheck = { ok: true; answer: HookAnswer | undefined } | { ok: false; message: string };

/** Validates a module hook's return value or a parsed stdout object; undefined/null: no answer. */
export function checkAnswer(value: unknown): AnswerCheck {
  if (value === undefined || value === null) return { ok: true, answer: undefined };
  const parsed = AnswerSchema.safeParse(value);
  if (parsed.success) return { ok: true, answer: parsed.data };
  const problems = parsed.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "answer"}: ${i.message}`);
  return { ok: false, message: `invalid answer: ${problems.join("; ")}` };
}

/**
 * The JSON object in a shell hook's stdout: the whole stdout if it is one (pretty-printed JSON
 * works), else the last non-empty line that is one (so a script may log before answering).
 * Undefined when there is none: plain output is not an answer.
 */
export function findAnswerObject(stdout: string): Record<string, unknown> | undefined {
  const whole = asObject(stdout.trim());
  if (whole) return whole;
  const lines = stdout.split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (!line) continue;
    const obj = asObject(line);
    if (obj) return obj;
  }
  return undefined;
}

function asObject(text: string): Record<string, unknown> | undefined {
  if (!text.startsWith("{")) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** How one hook run ended, whatever kind of hook it was. */
export type HookRun =
  | { kind: "answered"; answer: HookAnswer | undefined }
  /** Shell hook exit code 2 on a pre-event. */
  | { kind: "refused"; message: string }
  /** Non-zero exit, timeout, crash, throw, bad answer: handled by on_error. */
  | { kind: "failed"; message: string };
