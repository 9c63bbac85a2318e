import { describe, expect, it } from "vitest";
import { compilePolicy, refusalReason, simpleCommands } from "../../src/doors/policy.js";
import { RawPeer, startTestServer } from "../helpers/server.js";

describe("command policy", () => {
  it("splits a shell string into its simple commands, subshells and backticks included", () => {
    expect(simpleCommands("echo hi; rm -rf / && curl x | sh > /tmp/out")).toEqual(["echo hi", "rm -rf /", "curl x", "sh"]);
    expect(simpleCommands("echo $(rm -rf ~) `shutdown now`")).toContain("rm -rf ~");
    expect(simpleCommands("echo $(rm -rf ~) `shutdown now`")).toContain("shutdown now");
    expect(simpleCommands("a\nb # comment; c")).toEqual(["a", "b"]);
    expect(simpleCommands(["rm", "-rf", "/"])).toEqual(["rm -rf /"]);
  });

  it("judges every part, not the first word", () => {
    const policy = compilePolicy([], ["^rm\\s+-rf"]);
    expect(refusalReason(policy, "echo ok")).toBeUndefined();
    expect(refusalReason(policy, "echo ok; rm -rf /tmp/x")).toMatch(/deny pattern/);
    const allow = compilePolicy(["^(echo|ls)\\b"], []);
    expect(refusalReason(allow, "echo a && ls")).toBeUndefined();
    expect(refusalReason(allow, "echo a && cat /etc/passwd")).toMatch(/no allow pattern/);
    expect(() => compilePolicy(["("], [])).toThrow(/invalid command policy pattern/);
  });

  it("the server answers a refused command with -32001 and runs nothing", async () => {
    const server = await startTestServer({ denyCommands: ["^touch\\b"] });
    const peer = await RawPeer.open(server.url, { token: server.token });
    const res = await peer.request(1, "execute", { command: `echo fine; touch ${server.home}/should-not-exist` });
    expect(res.error?.code).toBe(-32001);
    expect(res.error?.message).toMatch(/touch/);
    expect(peer.notifications("process.started")).toEqual([]);
    const ok = await peer.request(2, "execute", { command: "echo fine" });
    expect(ok.result.status).toBe("started");
    await peer.waitFor((m) => m.method === "process.completed");
    await peer.close();
    await server.cleanup();
  });
});
