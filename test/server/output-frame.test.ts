import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { notification } from "../../src/protocol/index.js";
import { copyWithFields, utf8BytesOf, withUtf8Data } from "../../src/process/index.js";
import { jsonWithUtf8Data, notificationFrame } from "../../src/server/output-frame.js";

describe("notificationFrame", () => {
  it("is JSON.stringify of the notification, fields in the same order, for params with UTF-8 data (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 200 }),
        fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== "data" && k !== "__proto__"), fc.oneof(fc.jsonValue(), fc.constant(undefined)), { maxKeys: 4 }),
        fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== "data" && k !== "__proto__"), fc.jsonValue(), { maxKeys: 4 }),
        (text, before, after) => {
          const params = Object.assign(withUtf8Data({ ...before }, Buffer.from(text)), after);
          const frame = notificationFrame("process.output", params);
          expect(frame?.toString()).toBe(JSON.stringify(notification("process.output", params)));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("leaves other notifications, and copies whose data is already text, to JSON.stringify", () => {
    expect(notificationFrame("process.started", { pid: 1 })).toBeUndefined();
    const params = withUtf8Data({ type: "stdout" }, Buffer.from("x\n"));
    expect(notificationFrame("process.output", { ...params, event_seq: 1 })).toBeUndefined();
    expect({ ...params, event_seq: 1 }).toEqual({ type: "stdout", data: "x\n", event_seq: 1 });
  });

  it("copyWithFields keeps the bytes of data (in place) and adds fields; lines for the replay file match JSON.stringify", () => {
    const params = Object.assign(withUtf8Data({ execution_id: "e", type: "stdout" }, Buffer.from("é\n\"x\"")), { seq: 3 });
    const copy = copyWithFields(params, { event_seq: 7 });
    expect(utf8BytesOf(copy)).toBe(utf8BytesOf(params));
    expect(Object.keys(copy)).toEqual(["execution_id", "type", "data", "seq", "event_seq"]);
    expect(notificationFrame("process.output", copy)?.toString()).toBe(JSON.stringify(notification("process.output", copy)));
    expect(jsonWithUtf8Data('{"seq":7,"method":"process.output","params":', copy, "}")?.toString()).toBe(JSON.stringify({ seq: 7, method: "process.output", params: copy }));
    expect(copyWithFields({ a: 1 }, { b: 2 })).toEqual({ a: 1, b: 2 });
  });
});
