import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkTrust, coveredFiles, trustHooksFile } from "../../src/hooks/index.js";
import { programsOf } from "../../src/hooks/hook-programs.js";
import { sandbox, writeJson, writeScript } from "./helpers.js";

describe("what a project hooks file's trust covers", () => {
  it("programs given as paths and scripts given to interpreters; not arguments, data files or redirection targets", () => {
    const cases: Array<[string, string[]]> = [
      ["./check.sh", ["./check.sh"]],
      ["node .cc-executor/guard.js --fast", [".cc-executor/guard.js"]],
      ["FOO=1 bin/run.sh arg > out.log", ["bin/run.sh"]],
      [`bash -c "./a.sh && python3 -u scripts/lint.py"`, ["./a.sh", "scripts/lint.py"]],
      [`grep -q 'rm -rf' && { echo '{"proceed": false}'; } || true`, []],
      [`test -f tests-pass || echo no`, []],
      [`cat > summary.json`, []],
      [`node -e "require('./x.js')"`, []],
      ["python3 -m pytest", []],
      ["echo a\n./second-line.sh", ["./second-line.sh"]],
    ];
    for (const [command, programs] of cases) expect([command, programsOf(command)]).toEqual([command, programs]);
  });

  it("covers the hooks file, its modules and the project programs it runs; a file its hook writes does not break the trust", async () => {
    const s = sandbox();
    const dir = join(s.cwd, ".cc-executor");
    writeScript(join(dir, "check.sh"), "true");
    writeFileSync(join(dir, "guard.mjs"), "export default () => undefined;\n");
    writeJson(s.projectFile, {
      hooks: {
        "pre-execute": [{ command: "./check.sh" }, { module: "./guard.mjs" }],
        "post-execute": { command: `cat > "${join(s.cwd, "summary.json")}"; echo ran >> hooks.log` },
      },
    });
    expect(coveredFiles(s.projectFile)).toEqual([s.projectFile, join(dir, "check.sh"), join(dir, "guard.mjs")]);
    trustHooksFile(s.home, s.projectFile);
    writeFileSync(join(s.cwd, "summary.json"), "{}");
    writeFileSync(join(dir, "hooks.log"), "ran\n");
    expect(checkTrust(s.home, s.projectFile)).toEqual({ trusted: true });
    writeScript(join(dir, "check.sh"), "id");
    expect(checkTrust(s.home, s.projectFile)).toMatchObject({ trusted: false, reason: "changed", changed: [join(dir, "check.sh")] });
  });

  it("a program the trusted file names that did not exist then counts as a change when it appears", () => {
    const s = sandbox();
    writeJson(s.projectFile, { hooks: { "pre-execute": { command: "./later.sh" } } });
    trustHooksFile(s.home, s.projectFile);
    expect(checkTrust(s.home, s.projectFile)).toEqual({ trusted: true });
    writeScript(join(s.cwd, ".cc-executor", "later.sh"), "id");
    expect(checkTrust(s.home, s.projectFile)).toMatchObject({ trusted: false, reason: "changed" });
  });
});
