import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadTaskListFile, parseJsonTaskList, parseMarkdownTaskList, parseTaskListText, parseYamlTaskList, planPhases, resolveTaskList, TaskListError } from "../../src/tasks/index.js";

function errorOf(fn: () => unknown): TaskListError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TaskListError) return err;
    throw err;
  }
  throw new Error("expected a TaskListError");
}

const MARKDOWN = `# Task List: Build a TODO API

Some description of the list.

### Task 1: Create the API
Timeout: 5m
Tools: Read, Write, Bash
Model: sonnet
Create a FastAPI app with CRUD for todos.
Use "quotes", $(subshells) and \`backticks\` — they are prompt text.

### Task 2: Install
Method: direct
On-Failure: retry 2
\`\`\`bash
pip install fastapi
### Task 99: not a heading inside a fence
\`\`\`

## Phase Review: parallel

### Task 3: Review security
Id: sec
Review {{tasks.1.summary}} for security.

### Task 4: Review style
JSON: true
Review style.

## Wrap up

### Task 5: Summarize
On-Failure: continue
Summarize.
`;

describe("markdown task lists", () => {
  const list = parseMarkdownTaskList(MARKDOWN, "plan.md");

  it("reads the name, tasks, metadata lines and prompts", () => {
    expect(list.name).toBe("Build a TODO API");
    expect(list.description).toBe("Some description of the list.");
    expect(list.tasks.map((t) => t.title)).toEqual(["Create the API", "Install", "Review security", "Review style", "Summarize"]);
    const [t1, t2, t3, t4, t5] = list.tasks;
    expect(t1).toMatchObject({ id: "task-1", method: "claude", timeout: 300, tools: ["Read", "Write", "Bash"], model: "sonnet" });
    expect(t1!.prompt).toBe('Create a FastAPI app with CRUD for todos.\nUse "quotes", $(subshells) and `backticks` — they are prompt text.');
    expect(t2).toMatchObject({ method: "direct", onFailure: { action: "retry", times: 2 } });
    expect(t2!.command).toBe("pip install fastapi\n### Task 99: not a heading inside a fence");
    expect(t3).toMatchObject({ id: "sec", parallelGroup: "Review" });
    expect(t4).toMatchObject({ json: true, parallelGroup: "Review" });
    expect(t5!.parallelGroup).toBeUndefined();
    expect(t5!.onFailure).toEqual({ action: "continue" });
  });

  it("plans phases: sequential tasks alone, a parallel group together", () => {
    expect(planPhases(list).map((p) => (p.kind === "sequential" ? p.task.index : p.tasks.map((t) => t.index)))).toEqual([1, 2, [3, 4], 5]);
  });

  it("accepts `## Parallel: name` headings and CRLF line ends", () => {
    const l = parseMarkdownTaskList("## Parallel: checks\r\n### Task 1: a\r\nA\r\n### Task 2: b\r\nB\r\n");
    expect(l.tasks.map((t) => t.parallelGroup)).toEqual(["checks", "checks"]);
    expect(l.tasks[0]!.prompt).toBe("A");
  });

  it("errors name the file and line", () => {
    const e = errorOf(() => parseMarkdownTaskList("### Task 1: a\nTimeout: soon\nDo it.\n", "x.md"));
    expect(e.message).toBe('x.md:2: Timeout must be a positive number of seconds (or 90s, 5m, 1h), got "soon"');
    expect(errorOf(() => parseMarkdownTaskList("### Task 1: a\nMethod: robot\n", "x.md")).message).toContain("x.md:2: Method must be claude or direct");
    expect(errorOf(() => parseMarkdownTaskList("### Task 1: a\n\n### Task 2: b\nB\n", "x.md")).message).toMatch(/x\.md:1: .*has no prompt/);
    expect(errorOf(() => parseMarkdownTaskList("### Task 1: a\n```\nunclosed\n", "x.md")).message).toContain("never closed");
    expect(errorOf(() => parseMarkdownTaskList("# Just a heading\n\ntext\n", "x.md")).message).toContain("no tasks found");
    expect(errorOf(() => parseMarkdownTaskList("### Task 1: a\nId: same\nA\n### Task 2: b\nId: same\nB\n")).message).toContain('duplicate task id "same"');
  });
});

describe("YAML and JSON task lists", () => {
  const YAML = `name: Plan
defaults:
  timeout: 10m
  tools: [Read, Write]
on_failure: continue
tasks:
  - title: Research
    prompt: Find the best library.
  - command: npm test
    title: Test
    timeout: 90s
  - id: review-a
    prompt: Review A
    parallel_group: reviews
  - id: review-b
    prompt: Review B
    parallel_group: reviews
    on_failure: {retry: 2}
  - Just a prompt as a string
`;

  it("parses YAML with defaults, direct tasks inferred from `command`, groups and policies", () => {
    const list = parseYamlTaskList(YAML, "plan.yaml");
    expect(list).toMatchObject({ name: "Plan", defaults: { timeout: 600, tools: ["Read", "Write"] }, onFailure: { action: "continue" } });
    expect(list.tasks.map((t) => [t.id, t.method, t.parallelGroup])).toEqual([
      ["task-1", "claude", undefined],
      ["task-2", "direct", undefined],
      ["review-a", "claude", "reviews"],
      ["review-b", "claude", "reviews"],
      ["task-5", "claude", undefined],
    ]);
    expect(list.tasks[1]).toMatchObject({ command: "npm test", timeout: 90 });
    expect(list.tasks[3]!.onFailure).toEqual({ action: "retry", times: 2 });
    expect(list.tasks[4]).toMatchObject({ title: "Just a prompt as a string", prompt: "Just a prompt as a string" });
  });

  it("YAML errors point at the line of the bad field", () => {
    const bad = YAML.replace("timeout: 90s", "timeout: whenever");
    const e = errorOf(() => parseYamlTaskList(bad, "plan.yaml"));
    expect(e.where.line).toBe(YAML.split("\n").findIndex((l) => l.includes("timeout: 90s")) + 1);
    expect(e.message).toMatch(/^plan\.yaml:\d+: tasks\.1\.timeout: must be a positive number/);
    const unknown = errorOf(() => parseYamlTaskList("tasks:\n  - prompt: a\n    promt: typo\n", "p.yaml"));
    expect(unknown.message).toMatch(/p\.yaml:2: tasks\.0: .*promt/);
    expect(errorOf(() => parseYamlTaskList("tasks:\n  - prompt: [unclosed\n", "p.yaml")).message).toMatch(/^p\.yaml:\d+: invalid YAML/);
    expect(errorOf(() => parseYamlTaskList("tasks:\n  - command: ls\n    prompt: both\n", "p.yaml")).message).toContain("not both");
  });

  it("parses JSON, with the line of a syntax or schema error", () => {
    const list = parseJsonTaskList(JSON.stringify({ name: "J", tasks: ["one", { command: "ls", method: "direct" }] }));
    expect(list.tasks.map((t) => t.method)).toEqual(["claude", "direct"]);
    expect(errorOf(() => parseJsonTaskList('{\n  "tasks": [\n    {"prompt": 1}\n  ]\n}', "p.json")).message).toMatch(/^p\.json:3: tasks\.0\.prompt/);
    expect(errorOf(() => parseJsonTaskList('{\n  "tasks": [,]\n}', "p.json")).message).toMatch(/^p\.json:2: invalid JSON/);
  });

  it("a plain list of strings is a list of claude tasks", () => {
    const list = resolveTaskList(["First", "Second"]);
    expect(list.tasks.map((t) => [t.id, t.method, t.prompt])).toEqual([
      ["task-1", "claude", "First"],
      ["task-2", "claude", "Second"],
    ]);
    expect(errorOf(() => resolveTaskList([])).message).toContain("at least one task");
  });

  it("sniffs the format of text without a file name", () => {
    expect(parseTaskListText('["a"]').tasks).toHaveLength(1);
    expect(parseTaskListText("### Task 1: x\nDo x\n").tasks).toHaveLength(1);
    expect(parseTaskListText("tasks:\n  - do y\n").tasks[0]!.prompt).toBe("do y");
  });
});

describe("task-list files", () => {
  const dir = mkdtempSync(join(tmpdir(), "cce-tl-"));

  it("reads by extension and reports unreadable files clearly", () => {
    writeFileSync(join(dir, "a.yml"), "tasks: [hello]\n");
    expect(loadTaskListFile(join(dir, "a.yml")).tasks[0]!.prompt).toBe("hello");
    expect(errorOf(() => loadTaskListFile(join(dir, "missing.md"))).message).toBe(`${join(dir, "missing.md")}: no such file`);
    expect(errorOf(() => loadTaskListFile(dir)).message).toContain("is a directory");
    if (process.getuid?.() !== 0) {
      writeFileSync(join(dir, "secret.md"), "### Task 1: a\nA\n");
      chmodSync(join(dir, "secret.md"), 0o000);
      expect(errorOf(() => loadTaskListFile(join(dir, "secret.md"))).message).toContain("permission denied");
    }
  });
});

describe("parser properties", () => {
  const noCrash = (parse: (text: string) => unknown) => (text: string) => {
    try {
      parse(text);
    } catch (err) {
      if (!(err instanceof TaskListError)) throw err;
    }
  };
  const lines = fc.array(
    fc.oneof(
      fc.constantFrom("### Task 1: a", "### Task 2: b", "## Phase X: parallel", "## Other", "# Task List: n", "Timeout: 5", "Timeout: x", "Method: direct", "Method: bad", "Id: a", "On-Failure: retry 3", "```", "~~~", "", "JSON: maybe", "Tools: A, B"),
      fc.string(),
    ),
    { maxLength: 30 },
  );

  it("markdown: any input parses or raises a TaskListError, never anything else", () => {
    fc.assert(fc.property(lines, (ls) => noCrash((t) => parseMarkdownTaskList(t))(ls.join("\n"))), { numRuns: 500 });
  });

  it("YAML and JSON: any input parses or raises a TaskListError", () => {
    fc.assert(fc.property(fc.string(), noCrash(parseYamlTaskList)), { numRuns: 300 });
    fc.assert(fc.property(fc.json(), noCrash(parseJsonTaskList)), { numRuns: 300 });
    const taskish = fc.record({ tasks: fc.array(fc.oneof(fc.string(), fc.dictionary(fc.constantFrom("prompt", "command", "method", "timeout", "id", "parallel_group", "on_failure"), fc.jsonValue())), { maxLength: 5 }) }, { requiredKeys: [] });
    fc.assert(fc.property(taskish, (o) => noCrash(parseJsonTaskList)(JSON.stringify(o))), { numRuns: 500 });
  });

  it("every parsed markdown list keeps its tasks in heading order with unique ids", () => {
    const titled = fc.array(fc.stringMatching(/^[A-Za-z][A-Za-z ]{0,20}$/), { minLength: 1, maxLength: 10 });
    fc.assert(
      fc.property(titled, (titles) => {
        const text = titles.map((t, i) => `### Task ${i + 1}: ${t}\nDo ${t}`).join("\n\n");
        const list = parseMarkdownTaskList(text);
        expect(list.tasks.map((t) => t.index)).toEqual(titles.map((_, i) => i + 1));
        expect(new Set(list.tasks.map((t) => t.id)).size).toBe(titles.length);
      }),
      { numRuns: 200 },
    );
  });
});

describe("isolation, conflicts, budgets and session settings in task-list files", () => {
  it("markdown: lines after the list heading set the list's, lines after a parallel heading the group's, section lines the task's", () => {
    const list = parseMarkdownTaskList(
      [
        "# Task List: demo",
        "Isolation: none",
        "On-Conflict: claude",
        "Max-Cost: $3.50",
        "Max-Tokens: 1.5M",
        "",
        "The description.",
        "",
        "## Phase Build: parallel",
        "Isolation: worktree",
        "",
        "### Task 1: a",
        "Max-Cost: 0.5",
        "Max-Tokens: 200k",
        "Resume-Session: no",
        "Do A",
        "",
        "### Task 2: b",
        "Do B",
        "",
      ].join("\n"),
      "demo.md",
    );
    expect(list).toMatchObject({ isolation: "none", onConflict: "claude", budget: { maxCostUsd: 3.5, maxTokens: 1_500_000 }, groups: { Build: { isolation: "worktree" } }, description: "The description." });
    expect(list.tasks[0]).toMatchObject({ maxCostUsd: 0.5, maxTokens: 200_000, resumeSession: false, prompt: "Do A" });
    expect(list.tasks[1]!.prompt).toBe("Do B");
    expect(errorOf(() => parseMarkdownTaskList("# L\nIsolation: sandbox\n\n### Task 1: a\nx\n", "l.md")).message).toBe('l.md:2: Isolation must be worktree or none, got "sandbox"');
    expect(errorOf(() => parseMarkdownTaskList("### Task 1: a\nMax-Cost: lots\nx\n", "l.md")).message).toBe('l.md:2: Max-Cost must be a positive amount of US dollars (e.g. 2.50), got "lots"');
  });

  it("YAML: top-level isolation, on_conflict, groups and budget; task and default budgets; unknown groups are errors", () => {
    const list = parseYamlTaskList(
      [
        "isolation: worktree",
        "on_conflict: claude",
        "max_cost: 10",
        "max_tokens: 2M",
        "defaults:",
        "  max_cost: 1",
        "  resume_session: false",
        "groups:",
        "  reviews: {isolation: none}",
        "tasks:",
        "  - prompt: a",
        "    parallel_group: reviews",
        "    max_tokens: 50000",
        "  - prompt: b",
        "    parallel_group: reviews",
      ].join("\n"),
      "p.yaml",
    );
    expect(list).toMatchObject({ isolation: "worktree", onConflict: "claude", budget: { maxCostUsd: 10, maxTokens: 2_000_000 }, groups: { reviews: { isolation: "none" } }, defaults: { maxCostUsd: 1, resumeSession: false } });
    expect(list.tasks[0]).toMatchObject({ maxTokens: 50_000 });
    expect(errorOf(() => parseYamlTaskList("groups:\n  revews: {isolation: none}\ntasks:\n  - prompt: a\n    parallel_group: reviews\n", "p.yaml")).message).toBe('p.yaml: groups.revews: settings for parallel group "revews", but no task is in that group');
    expect(errorOf(() => parseYamlTaskList("max_cost: -1\ntasks: [a]\n", "p.yaml")).message).toMatch(/^p\.yaml:1: max_cost: must be a positive amount of US dollars/);
    expect(errorOf(() => parseYamlTaskList("isolation: sandbox\ntasks: [a]\n", "p.yaml")).message).toMatch(/^p\.yaml:1: isolation: /);
  });
});
