#!/usr/bin/env node
/*
 * Fetches the newest native Claude Code build for this platform from the npm registry
 * (@anthropic-ai/claude-code-<platform>-<arch>, an executable of about 400 MB that needs no Node)
 * into a cache outside the repository, and prints its path:
 *
 *   ${XDG_CACHE_HOME:-~/.cache}/cc-executor/claude/<version>/claude
 *
 * A version already in the cache is not fetched again.
 *
 *   node scripts/fetch-claude-latest.mjs              # newest version
 *   node scripts/fetch-claude-latest.mjs 2.1.332      # a given version
 *
 * Progress and figures (download size and time) go to stderr; stdout is only the path, so
 * CC_EXECUTOR_TEST_CLAUDE_BIN="$(node scripts/fetch-claude-latest.mjs)" works.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const npm = process.platform === "win32" ? "npm.cmd" : "npm";

export function nativePackageName(platform = process.platform, arch = process.arch) {
  if (!["linux", "darwin"].includes(platform) || !["x64", "arm64"].includes(arch)) {
    throw new Error(`no native Claude Code build is published for ${platform}-${arch}`);
  }
  return `@anthropic-ai/claude-code-${platform}-${arch}`;
}

export function cacheRoot(env = process.env) {
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "cc-executor", "claude");
}

function log(message) {
  process.stderr.write(`fetch-claude: ${message}\n`);
}

/** Returns the path of the native claude binary of `version` (default: newest), fetching it when absent. */
export function fetchClaude(version) {
  const pkg = nativePackageName();
  const wanted = version || execFileSync(npm, ["view", pkg, "version"], { encoding: "utf8" }).trim();
  if (!/^\d+\.\d+\.\d+/.test(wanted)) throw new Error(`unexpected version from npm view ${pkg}: ${JSON.stringify(wanted)}`);
  const dir = join(cacheRoot(), wanted);
  const bin = join(dir, "claude");
  if (existsSync(bin)) {
    log(`${pkg}@${wanted} already in the cache`);
    return bin;
  }
  mkdirSync(cacheRoot(), { recursive: true });
  const work = mkdtempSync(join(cacheRoot(), `.fetch-${wanted}-`));
  try {
    const started = Date.now();
    log(`downloading ${pkg}@${wanted} (about 400 MB)…`);
    const packed = execFileSync(npm, ["pack", `${pkg}@${wanted}`, "--pack-destination", work, "--silent"], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim().split("\n").at(-1);
    const tarball = join(work, packed || readdirSync(work).find((f) => f.endsWith(".tgz")));
    const downloadMs = Date.now() - started;
    const size = statSync(tarball).size;
    execFileSync("tar", ["-xzf", tarball, "-C", work, "package/claude"], { stdio: "inherit" });
    const extracted = join(work, "package", "claude");
    chmodSync(extracted, 0o755);
    mkdirSync(dir, { recursive: true });
    renameSync(extracted, bin);
    log(`${pkg}@${wanted}: ${(size / 1024 ** 2).toFixed(0)} MiB packed, ${(statSync(bin).size / 1024 ** 2).toFixed(0)} MiB unpacked, fetched in ${(downloadMs / 1000).toFixed(1)} s, total ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return bin;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    process.stdout.write(`${fetchClaude(process.argv[2])}\n`);
  } catch (err) {
    log(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}
