import { randomUUID } from "node:crypto";

/**
 * Anti-hallucination check: every execution gets a fresh UUID4 that claude is told to end its
 * answer with. A result that does not carry the exact UUID was not produced by this run (an
 * invented "done", a stale cache, a truncated answer) and is not trusted.
 */
export function newExecutionUuid(): string {
  return randomUUID();
}

export function uuidInstruction(uuid: string, jsonMode: boolean): string {
  return jsonMode
    ? `\n\nIMPORTANT: include the key "execution_uuid" with the exact value "${uuid}" as the LAST key of your JSON answer.`
    : `\n\nIMPORTANT: end your final answer with this exact execution UUID on its own line: ${uuid}`;
}

export function verifyUuid(resultText: string, uuid: string, structured?: unknown): boolean {
  if (structured && typeof structured === "object" && (structured as { execution_uuid?: unknown }).execution_uuid === uuid) return true;
  return resultText.includes(uuid);
}
