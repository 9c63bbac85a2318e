import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { notification } from "../../src/protocol/index.js";
import { withUtf8Data } from "../../src/process/index.js";
import { notificationFrame } from "../../src/server/output-frame.js";

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
});
