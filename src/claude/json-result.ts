import * as z from "zod";

/** The answer shape asked for in JSON mode. */
export const JsonAnswer = z
  .object({
    result: z.string(),
    summary: z.string().default(""),
    files_created: z.array(z.string()).default([]),
    files_modified: z.array(z.string()).default([]),
    execution_uuid: z.string().optional(),
  })
  .passthrough();
export type JsonAnswer = z.infer<typeof JsonAnswer>;

/** The same shape as a JSON schema, for the CLI's structured output option (--json-schema). */
export const JSON_ANSWER_SCHEMA = {
  type: "object",
  properties: {
    result: { type: "string", description: "the final answer or outcome" },
    summary: { type: "string", description: "what was done, in a few sentences" },
    files_created: { type: "array", items: { type: "string" } },
    files_modified: { type: "array", items: { type: "string" } },
    execution_uuid: { type: "string" },
  },
  required: ["result", "summary", "files_created", "files_modified", "execution_uuid"],
} as const;

export function jsonModeInstruction(): string {
  return (
    "\n\nAnswer with ONE JSON object and nothing else, of this shape:\n" +
    '{"result": "<final answer or outcome>", "summary": "<what you did, briefly>", "files_created": ["<paths>"], "files_modified": ["<paths>"], "execution_uuid": "<the execution UUID>"}'
  );
}

/** Extra instruction for retries after the output-token limit (step 1, then 2). */
export function concisenessInstruction(step: 1 | 2): string {
  return step === 1
    ? "\n\nBe concise: your previous answer exceeded the output limit. Keep the final answer short; write long content to files instead of the answer."
    : "\n\nBe extremely concise: answer in at most a few short paragraphs. Put any long content in files and only list their paths.";
}

export type JsonExtraction = { ok: true; value: JsonAnswer } | { ok: false; error: string; raw: string };

/**
 * Finds the answer object in claude's text: the whole text, else a ```json fence, else the last
 * balanced {...} in the prose that parses and has the expected shape.
 */
export function extractJsonResult(text: string): JsonExtraction {
  const candidates: string[] = [text.trim()];
  for (const m of text.matchAll(/```(?:json)?\s*\n([\s\S]*?)```/g)) candidates.push(m[1]!.trim());
  candidates.push(...balancedObjects(text).reverse());
  let lastError = "no JSON object found in the answer";
  for (const candidate of candidates) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(candidate);
    } catch {
      continue;
    }
    const checked = JsonAnswer.safeParse(parsed);
    if (checked.success) return { ok: true, value: checked.data };
    lastError = `the JSON answer does not have the expected shape: ${checked.error.issues.map((i) => `${i.path.join(".") || "root"}: ${i.message}`).join("; ")}`;
  }
  return { ok: false, error: lastError, raw: text };
}

/** Top-level balanced {...} substrings, skipping braces inside strings. */
function balancedObjects(text: string): string[] {
  const found: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"' && depth > 0) inString = true;
    else if (c === "{") {
      if (depth++ === 0) start = i;
    } else if (c === "}" && depth > 0 && --depth === 0) found.push(text.slice(start, i + 1));
  }
  return found;
}
