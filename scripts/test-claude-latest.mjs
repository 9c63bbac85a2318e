#!/usr/bin/env node
/*
 * Runs the real-CLI tests (test/claude/real, test/tasks/real) against the newest native Claude Code build,
 * fetched into the cache by fetch-claude-latest.mjs when absent. Extra arguments go to vitest.
 * The same tests run against the pinned devDependency in `npm test`.
 */
import { spawnSync } from "node:child_process";
import { fetchClaude } from "./fetch-claude-latest.mjs";

const bin = fetchClaude(process.env.CC_EXECUTOR_TEST_CLAUDE_VERSION);
process.stderr.write(`test-claude-latest: CC_EXECUTOR_TEST_CLAUDE_BIN=${bin}\n`);
const run = spawnSync("npx", ["vitest", "run", "test/claude/real", "test/tasks/real", ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, CC_EXECUTOR_TEST_CLAUDE_BIN: bin },
});
process.exit(run.status ?? 1);
