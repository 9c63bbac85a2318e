import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";

/** A JSON answer: the text block and structuredContent carry the same object, for clients that read either. */
export function jsonResult(value: object, isError: boolean): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(value, null, 2) }], structuredContent: value as Record<string, unknown>, isError };
}

/** A call that ran nothing (bad arguments, a refusal, shutdown): one sentence saying why. */
export function errorResult(message: string): CallToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
}

/** Thrown by argument checks the schema cannot make (a cwd that is no directory); becomes an error result naming the field. */
export class ArgumentError extends Error {}

/** Thrown when a call cannot run at all (an invalid hooks file); becomes an error result with the message. */
export class UnavailableError extends Error {}
