import { failure, type JsonRpcFailure, type JsonRpcId } from "./messages.js";
import { ErrorCodes } from "./names.js";

/** A well-formed incoming call. `id` is undefined for a JSON-RPC notification (no answer expected). */
export interface IncomingCall {
  kind: "call";
  id: JsonRpcId | undefined;
  method: string;
  params: Record<string, unknown>;
}

export interface IncomingError {
  kind: "error";
  response: JsonRpcFailure;
}

/** Deepest nesting accepted before JSON.parse is even tried: protects the parser's stack. */
const MAX_NESTING = 64;

function isValidId(id: unknown): id is JsonRpcId {
  return id === null || typeof id === "string" || (typeof id === "number" && Number.isFinite(id));
}

function nestingTooDeep(text: string): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > MAX_NESTING) return true;
    } else if (c === 125 || c === 93) depth--;
  }
  return false;
}

/**
 * Turns one text frame into a call, or into the error response that must be sent back.
 * Never throws: every input has an answer and the connection stays usable.
 * Lenient on one point for compatibility: a missing "jsonrpc" member is accepted.
 */
export function parseIncoming(text: string): IncomingCall | IncomingError {
  if (nestingTooDeep(text)) {
    return { kind: "error", response: failure(null, ErrorCodes.parseError, `Parse error: JSON nested deeper than ${MAX_NESTING} levels`) };
  }
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch (err) {
    return { kind: "error", response: failure(null, ErrorCodes.parseError, `Parse error: ${(err as Error).message}`) };
  }
  if (Array.isArray(message)) {
    return { kind: "error", response: failure(null, ErrorCodes.invalidRequest, "Invalid Request: batch requests are not supported") };
  }
  if (message === null || typeof message !== "object") {
    return { kind: "error", response: failure(null, ErrorCodes.invalidRequest, "Invalid Request: expected a JSON object") };
  }
  const m = message as Record<string, unknown>;
  const id = "id" in m ? m.id : undefined;
  const answerId: JsonRpcId = isValidId(id) ? id : null;
  if (id !== undefined && !isValidId(id)) {
    return { kind: "error", response: failure(null, ErrorCodes.invalidRequest, "Invalid Request: id must be a string, a number or null") };
  }
  if ("jsonrpc" in m && m.jsonrpc !== "2.0") {
    return { kind: "error", response: failure(answerId, ErrorCodes.invalidRequest, 'Invalid Request: jsonrpc must be "2.0"') };
  }
  if (typeof m.method !== "string" || m.method === "") {
    return { kind: "error", response: failure(answerId, ErrorCodes.invalidRequest, "Invalid Request: method must be a non-empty string") };
  }
  const params = m.params;
  if (params !== undefined && params !== null && (typeof params !== "object" || Array.isArray(params))) {
    return { kind: "error", response: failure(answerId, ErrorCodes.invalidParams, "Invalid params: params must be an object") };
  }
  return { kind: "call", id: id as JsonRpcId | undefined, method: m.method, params: (params ?? {}) as Record<string, unknown> };
}
