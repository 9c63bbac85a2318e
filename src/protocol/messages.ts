import type { ErrorCode } from "./names.js";

/** JSON-RPC 2.0 message shapes (https://www.jsonrpc.org/specification). */
export type JsonRpcId = string | number | null;

export interface JsonRpcRequest<P = unknown> {
  jsonrpc: "2.0";
  id: JsonRpcId;
  method: string;
  params?: P;
}

export interface JsonRpcNotification<P = unknown> {
  jsonrpc: "2.0";
  method: string;
  params: P;
}

export interface JsonRpcErrorObject {
  code: ErrorCode | number;
  message: string;
  data?: unknown;
}

export interface JsonRpcSuccess<R = unknown> {
  jsonrpc: "2.0";
  id: JsonRpcId;
  result: R;
}

export interface JsonRpcFailure {
  jsonrpc: "2.0";
  id: JsonRpcId;
  error: JsonRpcErrorObject;
}

export type JsonRpcResponse<R = unknown> = JsonRpcSuccess<R> | JsonRpcFailure;

export function notification<P>(method: string, params: P): JsonRpcNotification<P> {
  return { jsonrpc: "2.0", method, params };
}

export function success<R>(id: JsonRpcId, result: R): JsonRpcSuccess<R> {
  return { jsonrpc: "2.0", id, result };
}

export function failure(id: JsonRpcId, code: ErrorCode | number, message: string, data?: unknown): JsonRpcFailure {
  const error: JsonRpcErrorObject = { code, message };
  if (data !== undefined) error.data = data;
  return { jsonrpc: "2.0", id, error };
}

/** An error a method handler throws to answer with a specific JSON-RPC error code. */
export class RpcError extends Error {
  constructor(
    readonly code: ErrorCode | number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = "RpcError";
  }
}
