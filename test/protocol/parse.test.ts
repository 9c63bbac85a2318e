import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ErrorCodes, ExecuteParams, parseIncoming, parseParams, RpcError } from "../../src/protocol/index.js";

describe("parseIncoming", () => {
  it("accepts a request, with or without the jsonrpc member", () => {
    expect(parseIncoming('{"jsonrpc":"2.0","id":1,"method":"execute","params":{"command":"ls"}}')).toEqual({ kind: "call", id: 1, method: "execute", params: { command: "ls" } });
    expect(parseIncoming('{"id":"a","method":"hook_status"}')).toMatchObject({ kind: "call", id: "a", params: {} });
  });

  it("maps each malformed input to its error code", () => {
    const code = (text: string) => {
      const r = parseIncoming(text);
      return r.kind === "error" ? r.response.error.code : "call";
    };
    expect(code("{")).toBe(ErrorCodes.parseError);
    expect(code("")).toBe(ErrorCodes.parseError);
    expect(code("[1]")).toBe(ErrorCodes.invalidRequest);
    expect(code("42")).toBe(ErrorCodes.invalidRequest);
    expect(code('{"jsonrpc":"1.0","id":1,"method":"x"}')).toBe(ErrorCodes.invalidRequest);
    expect(code('{"id":{},"method":"x"}')).toBe(ErrorCodes.invalidRequest);
    expect(code('{"id":1,"method":""}')).toBe(ErrorCodes.invalidRequest);
    expect(code('{"id":1,"method":"x","params":[1]}')).toBe(ErrorCodes.invalidParams);
    expect(code("[".repeat(100) + "]".repeat(100))).toBe(ErrorCodes.parseError);
    expect(code(`{"a":"${"[".repeat(200)}","id":1,"method":"x"}`)).toBe("call"); // brackets inside strings do not count
  });

  it("never throws, whatever the text (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v)), fc.string({ unit: "binary" })), (text) => {
        const r = parseIncoming(text);
        expect(["call", "error"]).toContain(r.kind);
        if (r.kind === "error") expect([ErrorCodes.parseError, ErrorCodes.invalidRequest, ErrorCodes.invalidParams]).toContain(r.response.error.code);
      }),
      { numRuns: 5000 },
    );
  });

  it("any object with a string method and an object params parses as a call (property)", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.option(fc.integer()), fc.dictionary(fc.string(), fc.jsonValue()), (method, id, params) => {
        const r = parseIncoming(JSON.stringify({ jsonrpc: "2.0", id, method, params }));
        // what the wire can carry: JSON has no -0, so compare with the params as JSON gives them back
        expect(r).toEqual({ kind: "call", id, method, params: JSON.parse(JSON.stringify(params)) });
      }),
    );
  });
});

describe("parseParams", () => {
  it("names the bad field in a -32602 error", () => {
    try {
      parseParams(ExecuteParams, { command: "ls", timeout: -1 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(RpcError);
      expect((err as RpcError).code).toBe(-32602);
      expect((err as RpcError).message).toMatch(/^Invalid params: timeout:/);
    }
    expect(() => parseParams(ExecuteParams, { command: "ls", env: { A: 1 } })).toThrow(/env\.A/);
    expect(parseParams(ExecuteParams, { command: "ls", timeout: null, extra: true })).toMatchObject({ command: "ls" });
  });
});
