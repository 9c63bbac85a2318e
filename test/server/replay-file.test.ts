import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawPeer, startTestServer, type RawMessage, type TestServer } from "../helpers/server.js";

const CAP = 4 * 1024 * 1024;
const OUTPUT_LOG_SEGMENT = 1024 * 1024;

let server: TestServer;
beforeAll(async () => {
  // MAX_BUFFER_SIZE caps the command's output.log (two segments) kept beside the replay file.
  server = await startTestServer({ resumeGraceS: 30, replayBufferBytes: 64 * 1024, replayFileMaxBytes: CAP, maxBufferSize: OUTPUT_LOG_SEGMENT });
});
afterAll(async () => {
  await server.cleanup();
});

/** Bytes of the files in the execution's run folder whose name matches. */
function runFolderBytes(id: string, which = /./): number {
  const dir = join(server.home, "runs", id);
  return readdirSync(dir)
    .filter((name) => which.test(name))
    .reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
}

// Numbered lines (each followed by 1000 x's) as fast as the pipe takes them.
const FLOOD = "let i=0;const w=()=>{let ok=true;while(ok){ok=process.stdout.write((i++)+'\\n'+'x'.repeat(1000)+'\\n')}process.stdout.once('drain',w)};w()";

const numbersIn = (msgs: RawMessage[]) =>
  msgs
    .map((m) => String(m.params.data))
    .join("")
    .split("\n")
    .filter((l) => /^\d+$/.test(l))
    .map(Number);

describe("the replay file of a resumable execution whose client has gone", () => {
  it("stays under CC_EXECUTOR_REPLAY_FILE_MAX; a replay gets the head, an explicit gap notice, then the latest output", async () => {
    const owner = await RawPeer.open(server.url, { token: server.token });
    const res = await owner.request(1, "execute", { command: ["node", "-e", FLOOD], resumable: true });
    const id = res.result.execution_id as string;
    await owner.waitFor((m) => m.method === "process.output");
    owner.ws.terminate();

    // Nobody listens: the flood runs at full speed into the replay file (hundreds of MB in 3 s without a cap).
    let peak = 0;
    let folderPeak = 0;
    for (let i = 0; i < 30; i++) {
      await new Promise((r) => setTimeout(r, 100));
      peak = Math.max(peak, runFolderBytes(id, /^events/));
      folderPeak = Math.max(folderPeak, runFolderBytes(id));
    }
    // A segment may overshoot by one notification (64 KiB of output, JSON-escaped).
    expect(peak).toBeLessThanOrEqual(CAP + 4 * 128 * 1024);
    // The whole folder: the replay file and the output log, each capped.
    expect(folderPeak).toBeLessThanOrEqual(CAP + 4 * 128 * 1024 + 2 * OUTPUT_LOG_SEGMENT + 128 * 1024);

    const back = await RawPeer.open(server.url, { token: server.token });
    const attached = await back.request(1, "attach", { execution_id: id, since_seq: 0 });
    expect(attached.result.status).toBe("attached");
    await back.request(2, "control", { type: "CANCEL" });
    await back.waitFor((m) => m.method === "process.completed");
    const mine = back.messages.filter((m) => m.params?.execution_id === id);
    const gapAt = mine.findIndex((m) => m.method === "replay.gap");
    expect(gapAt).toBeGreaterThan(0);
    const gap = mine[gapAt]!.params;
    expect(gap.missed_events).toBe(gap.to_seq - gap.from_seq + 1);
    expect(gap.missed_bytes).toBeGreaterThan(CAP);

    // Before the gap: the head, numbered from 0 without a hole; after it: the rest, without a hole.
    const before = mine.slice(0, gapAt).filter((m) => m.method === "process.output");
    const after = mine.slice(gapAt + 1).filter((m) => m.method === "process.output");
    expect(before.at(-1)!.params.event_seq).toBe(gap.from_seq - 1);
    expect(after[0]!.params.event_seq).toBe(gap.to_seq + 1);
    // A chunk boundary may cut a number: the last one before the gap and the first after it are not compared.
    const head = numbersIn(before).slice(0, -1);
    head.forEach((n, i) => expect(n).toBe(i));
    const tail = numbersIn(after).slice(1);
    expect(tail[0]!).toBeGreaterThan(head.at(-1)!);
    tail.forEach((n, i) => expect(n).toBe(tail[0]! + i));
    const seqs = mine.filter((m) => m.method !== "replay.gap").map((m) => m.params.event_seq as number);
    seqs.slice(1).forEach((s, i) => expect(s).toBe(seqs[i]! + (s === gap.to_seq + 1 ? gap.missed_events + 1 : 1)));
    await back.close();
  }, 60_000);
});
