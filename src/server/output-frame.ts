import { utf8BytesOf } from "../process/index.js";
import { jsonAroundUtf8 } from "../protocol/json-escape.js";
import { framePool } from "./frame-pool.js";

/**
 * The JSON text of a notification whose `data` still is UTF-8 bytes (process.output made by
 * withUtf8Data), as the bytes of one WebSocket text frame: the same text JSON.stringify would
 * give, fields in the same order, without decoding the output to a string and encoding it again.
 * Undefined for any other notification (they are small: JSON.stringify them). The frame's memory
 * comes from framePool: give it back (framePool.give) once the socket has written it.
 */
export function notificationFrame(method: string, params: unknown): Buffer | undefined {
  return jsonWithUtf8Data(`{"jsonrpc":"2.0","method":${JSON.stringify(method)},"params":`, params, "}");
}

/**
 * `before` + the JSON of `params` + `after` as bytes, when params' `data` is still UTF-8 bytes
 * (else undefined). Memory from framePool: give it back once written.
 */
export function jsonWithUtf8Data(before: string, params: unknown, after: string): Buffer | undefined {
  const bytes = utf8BytesOf(params);
  if (!bytes) return undefined;
  let head = `${before}{`;
  let tail = "";
  let afterData = false;
  let comma = "";
  for (const key of Object.keys(params as object)) {
    if (key === "data") {
      head += `${comma}"data":"`;
      afterData = true;
    } else {
      const value = JSON.stringify((params as Record<string, unknown>)[key]);
      if (value === undefined) continue; // undefined, functions and symbols are left out, as by JSON.stringify
      if (afterData) tail += `${comma}${JSON.stringify(key)}:${value}`;
      else head += `${comma}${JSON.stringify(key)}:${value}`;
    }
    comma = ",";
  }
  return jsonAroundUtf8(head, bytes, `"${tail}}${after}`, (size) => framePool.take(size));
}
