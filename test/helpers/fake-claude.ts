import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const FAKE_CLAUDE = fileURLToPath(new URL("../fixtures/fake-claude", import.meta.url));

export interface FakeClaudeEnv {
  env: Record<string, string>;
  home: string;
  /** The calls fake-claude recorded, in order. */
  calls(): Array<{ argv: string[]; prompt: string; cwd: string; env_has_api_key: boolean; pid: number; started_at: number; ended_at: number; scenario: string; call: number; session_id: string; resumed: boolean }>;
}

/** A fresh state dir, record file and environment for fake-claude runs. */
export function fakeClaude(scenario = "success", extra: Record<string, string> = {}): FakeClaudeEnv {
  const dir = mkdtempSync(join(tmpdir(), "cce-fc-"));
  const record = join(dir, "calls.jsonl");
  return {
    home: join(dir, "home"),
    env: { CLAUDE_BIN: FAKE_CLAUDE, FAKE_CLAUDE_SCENARIO: scenario, FAKE_CLAUDE_STATE_DIR: join(dir, "state"), FAKE_CLAUDE_RECORD: record, ...extra },
    calls: () => {
      try {
        return readFileSync(record, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
      } catch {
        return [];
      }
    },
  };
}
