import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completionCandidates } from "../../src/cli/completion.js";
import { buildProgram } from "../../src/cli/program.js";
import { CLI, runCli } from "../helpers/cli.js";
import { requireTool } from "../helpers/tools.js";

const ROOT = join(import.meta.dirname, "..", "..");
let dir: string;
let env: NodeJS.ProcessEnv;
const RUN_ID = "tl-20261125-163829-3f9a1c";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "cce-complete-"));
  const bin = join(dir, "bin");
  mkdirSync(bin);
  symlinkSync(CLI, join(bin, "cc-executor")); // the scripts call `cc-executor`, as a user's PATH has it
  mkdirSync(join(dir, "home", "runs", RUN_ID), { recursive: true });
  env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, CC_EXECUTOR_HOME: join(dir, "home"), NO_COLOR: "1" };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const values = (lines: string[]) => lines.map((l) => l.split("\t")[0]);

describe("completion candidates (from the command tree)", () => {
  const program = buildProgram();
  const c = (...words: string[]) => values(completionCandidates(program, words));

  it("commands, subcommands, options, option values, files", () => {
    expect(c("ta")).toEqual(["tasks"]);
    expect(c("")).toEqual(expect.arrayContaining(["run", "claude", "tasks", "logs", "completion", "doctor"]));
    expect(c("tasks", "r")).toEqual(["run", "resume"]);
    expect(c("run", "--ti")).toEqual(["--timeout"]);
    expect(c("run", "--shell", "")).toEqual(["zsh", "bash", "sh", "default"]);
    expect(c("claude", "--permission-mode", "a")).toEqual(["acceptEdits", "auto"]);
    expect(c("completion", "")).toEqual(["bash", "zsh", "fish"]);
    expect(c("tasks", "run", "")).toEqual([":files"]);
    // an option's value is skipped when finding the command's words
    expect(c("tasks", "run", "--concurrency", "2", "--j")).toEqual(["--json"]);
    expect(completionCandidates(program, ["run", "--ti"])[0]).toMatch(/^--timeout\tkill the whole process group/);
  });
});

describe("completion in the real shells", () => {
  it("bash: complete -F with COMP_WORDS, including run ids from the state directory and file names", () => {
    const ask = (words: string[]) =>
      execFileSync("bash", ["-c", `source <(cc-executor completion bash); COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _cc_executor; printf '%s\\n' "\${COMPREPLY[@]}"`], { env, cwd: ROOT, encoding: "utf8" }).trim().split("\n");
    expect(ask(["cc-executor", "ta"])).toEqual(["tasks"]);
    expect(ask(["cc-executor", "tasks", "r"])).toEqual(["run", "resume"]);
    expect(ask(["cc-executor", "run", "--shell", "b"])).toEqual(["bash"]);
    expect(ask(["cc-executor", "tasks", "resume", "tl-"])).toEqual([RUN_ID]);
    expect(ask(["cc-executor", "tasks", "run", "exam"])).toEqual(["examples"]);
  });

  it("zsh: the completion function offers candidates with descriptions through _describe, files through _files", () => {
    requireTool("zsh", "zsh");
    const ask = (words: string[]) =>
      execFileSync(
        "zsh",
        ["-c", `autoload -Uz compinit && compinit -u -D; source <(cc-executor completion zsh); _describe() { print -l -- "\${(@P)2}" }; _files() { print FILES }; words=(${words.map((w) => `'${w}'`).join(" ")}); CURRENT=${words.length}; _cc_executor`],
        { env, encoding: "utf8" },
      ).trim().split("\n");
    expect(ask(["cc-executor", "ta"])).toEqual([expect.stringMatching(/^tasks:run task lists/)]);
    expect(ask(["cc-executor", "logs", "tl"])).toEqual([RUN_ID]);
    expect(ask(["cc-executor", "tasks", "validate", ""])).toEqual(["FILES"]);
  });

  it("fish: complete -C lists candidates with descriptions", () => {
    requireTool("fish", "fish");
    const ask = (line: string) => execFileSync("fish", ["--no-config", "-c", `cc-executor completion fish | source; complete -C '${line}'`], { env, encoding: "utf8" }).trim().split("\n");
    expect(ask("cc-executor ta")).toEqual([expect.stringMatching(/^tasks\trun task lists/)]);
    expect(ask("cc-executor run --shell z")).toEqual(["zsh"]);
  });

  it("completion <shell> prints the script; an unknown shell is a usage error", async () => {
    const ok = await runCli(["completion", "bash"], { env });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("complete -o filenames -F _cc_executor cc-executor");
    const bad = await runCli(["completion", "tcsh"], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Allowed choices are bash, zsh, fish/);
  });
});
