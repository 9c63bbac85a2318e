import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecutorClient } from "../../src/client/index.js";
import { fakeClaude } from "../helpers/fake-claude.js";
import { liveSleeps, uniqueSleep, waitUntil } from "../helpers/procs.js";
import { RawPeer, startTestServer, type TestServer } from "../helpers/server.js";
import { requireTool } from "../helpers/tools.js";

const ROOT = join(import.meta.dirname, "..", "..");
const ARTIFACTS = join(ROOT, "test-artifacts", "dashboard");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

// Never skipped: without Chromium the suite fails, saying what to install.
describe("dashboard, end to end in headless Chromium", () => {
  let server: TestServer;
  let browser: Browser;
  const problems: string[] = [];

  beforeAll(async () => {
    requireTool(CHROMIUM, "chromium");
    // The page is bundled from web/dashboard; build it so the test sees the current sources.
    execFileSync(process.execPath, [join(ROOT, "scripts", "build-dashboard.js")], { stdio: "pipe" });
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startTestServer({ claudeRetryDelayMs: 10 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--headless"] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.cleanup();
  });

  async function openPage(token: string | undefined = server.token, colorScheme: "light" | "dark" = "light", viewport = { width: 1360, height: 840 }): Promise<Page> {
    const context = await browser.newContext({ viewport, colorScheme });
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    page.on("console", (msg) => {
      // A CSP violation or a script error is a bug; the 401 of a refused token is expected.
      if (msg.type() === "error" && !/status of 401|HTTP Authentication failed/.test(msg.text())) problems.push(`console: ${msg.text()}`);
    });
    await page.goto(`${server.httpUrl}/${token ? `#token=${encodeURIComponent(token)}` : ""}`);
    return page;
  }

  const shot = async (page: Page, name: string, fullPage = false) => {
    const path = join(ARTIFACTS, `${name}.png`);
    await page.screenshot({ path, fullPage });
    console.log(`screenshot: ${path}`);
  };

  it("serves the page without a token under a strict CSP; data paths need the token", async () => {
    const index = await fetch(`${server.httpUrl}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(index.headers.get("content-security-policy")).toMatch(/default-src 'none'; script-src 'self'; style-src 'self'/);
    const script = await fetch(`${server.httpUrl}/assets/app.js`);
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect((await fetch(`${server.httpUrl}/auth/check`)).status).toBe(401);
    expect((await fetch(`${server.httpUrl}/executions/nope/output`)).status).toBe(401);
    expect((await fetch(`${server.httpUrl}/executions/nope/output`, { headers: { authorization: `Bearer ${server.token}` } })).status).toBe(404);
    expect((await fetch(`${server.httpUrl}/assets/..%2Fpackage.json`)).status).toBe(404);
  });

  it("monitor methods over the protocol: list, watch (replay then live), control any execution, errors", async () => {
    const owner = await RawPeer.open(server.url, { token: server.token });
    const observer = await RawPeer.open(server.url, { token: server.token });
    const sleep = uniqueSleep();
    await owner.request(1, "execute", { command: `echo before-watch; sleep ${sleep}` });
    await owner.waitFor((m) => m.method === "process.output");
    const list = await observer.request(1, "monitor.list", { subscribe: true });
    const entry = list.result.executions.find((e: { label: string }) => e.label.includes(sleep));
    expect(entry).toMatchObject({ kind: "command", status: "running", paused: false, session_id: expect.any(String), pid: expect.any(Number) });
    const watched = await observer.request(2, "monitor.watch", { execution_id: entry.id });
    expect(watched.result).toMatchObject({ status: "watching", execution: { id: entry.id } });
    const replayed = await observer.waitFor((m) => m.method === "process.output" && m.params.watched_id === entry.id);
    expect(replayed.params).toMatchObject({ data: "before-watch\n", replayed: true, execution_id: entry.id });
    await observer.waitFor((m) => m.method === "monitor.replayed" && m.params.watched_id === entry.id);
    expect((await observer.request(3, "monitor.control", { execution_id: entry.id, type: "pause" })).result).toEqual({ status: "paused", execution_id: entry.id });
    await owner.waitFor((m) => m.method === "process.paused"); // the owner sees it, and so does the watcher
    await observer.waitFor((m) => m.method === "process.paused" && m.params.watched_id === entry.id);
    await observer.waitFor((m) => m.method === "monitor.execution" && m.params.execution.id === entry.id && m.params.execution.paused === true);
    expect((await observer.request(4, "monitor.control", { execution_id: entry.id, type: "RESUME" })).result.status).toBe("resumed");
    expect((await observer.request(5, "monitor.control", { execution_id: entry.id, type: "CANCEL" })).result.status).toBe("canceled");
    const done = await owner.waitFor((m) => m.method === "process.completed");
    expect(done.params.status).toBe("canceled");
    await observer.waitFor((m) => m.method === "process.completed" && m.params.watched_id === entry.id && !m.params.replayed);
    await observer.waitFor((m) => m.method === "monitor.execution" && m.params.execution.id === entry.id && m.params.execution.status === "canceled");
    expect(liveSleeps(sleep)).toEqual([]);
    expect((await observer.request(6, "monitor.control", { execution_id: entry.id, type: "CANCEL" })).error?.code).toBe(-32002);
    expect((await observer.request(7, "monitor.watch", { execution_id: "nope" })).error?.code).toBe(-32602);
    expect((await observer.request(8, "monitor.unwatch", { execution_id: entry.id })).result).toMatchObject({ status: "unwatched", was_watching: true });
    expect((await observer.request(9, "task_runs.get", { run_id: "../etc" })).error?.code).toBe(-32602);
    expect((await observer.request(10, "task_runs.list", {})).result).toEqual({ runs: expect.any(Array) });
    expect((await observer.request(11, "health", {})).result).toMatchObject({ service: "cc-executor", active_sessions: expect.any(Number) });
    let id = 100;
    await expect.poll(async () => (await observer.request(id++, "history.list", { limit: 5 })).result.executions.find((e: { id: string }) => e.id === entry.id)?.status).toBe("canceled");
    const tail = await fetch(`${server.httpUrl}/executions/${entry.id}/output?token=${server.token}`);
    expect(await tail.text()).toBe("before-watch\n"); // not resumable: from the monitor's kept tail
    await owner.close();
    await observer.close();
  });

  it("refuses a wrong token and says so", async () => {
    const page = await openPage("wrong-token-0000000000000000");
    await page.locator("#banner").filter({ hasText: "refused this token" }).waitFor();
    await page.locator("#login-form").waitFor();
    expect(await page.locator("#conn").textContent()).toBe("refused");
    expect(page.url()).not.toContain("token"); // the fragment is taken out of the address bar
    // The WebSocket itself is refused too (browsers only see the close).
    const code = await page.evaluate(
      (url) =>
        new Promise<number>((resolve) => {
          const ws = new WebSocket(url);
          ws.onclose = (e) => resolve(e.code);
        }),
      `${server.url}?token=wrong-token-0000000000000000`,
    );
    expect(code).toBe(1006);
    await shot(page, "refused");
    await page.context().close();
  });

  it("shows another client's command live, ANSI coloured and capped, and cancels it: nothing is left running", async () => {
    const page = await openPage();
    await page.locator("#conn[data-state=connected]").waitFor();
    const sleep = uniqueSleep();
    const client = await ExecutorClient.connect({ url: server.url, token: server.token });
    const go = join(server.home, "go-print");
    // Prints only once the page watches it, so the page receives all 8,000 lines live.
    const command = `while [ ! -f go-print ]; do sleep 0.05; done; for i in $(seq 1 8000); do printf 'line %05d \\033[32mgreen\\033[0m \\033[1;31mbold red\\033[0m\\n' $i; done; printf 'split \\033['; sleep 0.3; printf '35mmagenta\\033[0m\\n'; printf 'progress 10%%\\rprogress 100%%\\n'; echo done-printing; sleep ${sleep}`;
    const result = client.execute(command, { resumable: true, cwd: server.home });

    const item = page.locator("#running-list .item").filter({ hasText: "seq 1 8000" });
    await item.click();
    const id = await item.getAttribute("data-id");
    await page.locator(".exec-detail .title-row .badge", { hasText: "running" }).waitFor();
    writeFileSync(go, "");
    await page.locator(".output .line").filter({ hasText: "done-printing" }).waitFor();
    expect(await page.locator(".output .fg-green").first().textContent()).toBe("green");
    expect(await page.locator(".output .fg-red.b").first().textContent()).toBe("bold red");
    expect(await page.locator(".output .fg-magenta").first().textContent()).toBe("magenta"); // an escape cut between two chunks
    expect(await page.locator(".output .line").filter({ hasText: "progress" }).first().textContent()).toBe("progress 100%"); // \r rewrites the line
    expect(await page.locator(".output .line").count()).toBeLessThanOrEqual(5000);
    expect(await page.locator(".hidden-note").textContent()).toMatch(/earlier lines not shown/);
    await page.fill(".output-toolbar .search", "line 07999");
    await page.locator(".search-count").filter({ hasText: "1 match" }).waitFor();
    await page.keyboard.press("Enter");
    await page.locator(".line.current").filter({ hasText: "line 07999" }).waitFor();
    await page.fill(".output-toolbar .search", "");
    await page.locator(".follow").click();
    await shot(page, "execution-live");

    // The full output (run folder of a resumable execution), token-checked, as the page downloads it.
    const full = await page.evaluate(async ([execId, token]) => (await fetch(`/executions/${execId}/output`, { headers: { Authorization: `Bearer ${token}` } })).text(), [id!, server.token!] as const);
    expect(full).toContain("line 00001 ");
    expect(full).toContain("line 08000 ");

    const cancel = page.locator(".exec-detail .actions button.danger");
    await cancel.click();
    await cancel.filter({ hasText: "Really cancel?" }).click();
    expect((await result).status).toBe("canceled");
    await page.locator(".exec-detail .title-row .badge").filter({ hasText: "canceled" }).waitFor();
    await page.locator("#finished-list .item").filter({ hasText: "seq 1 8000" }).locator(".badge", { hasText: "canceled" }).waitFor();
    await page.locator(".output .line.meta").filter({ hasText: "■ canceled" }).waitFor();
    await waitUntil(() => liveSleeps(sleep).length === 0, 10_000, "the sleep to be gone");
    await client.close();
    await page.context().close();
  });

  it("starts a task list against fake-claude from the page and follows every task to completed", async () => {
    const fc = fakeClaude("success", { FAKE_CLAUDE_DELAY_MS: "60" });
    const file = join(server.home, "demo-tasks.md");
    writeFileSync(
      file,
      [
        "# Task List: Demo",
        "",
        "### Task 1: Prepare the workspace",
        "Method: direct",
        "```",
        "echo preparing; mkdir -p out",
        "```",
        "",
        "### Task 2: Write a greeting",
        "Write out/hello.txt with a friendly greeting.",
        "",
        "### Task 3: Review the greeting",
        "Read out/hello.txt and say whether it is friendly.",
        "",
      ].join("\n"),
    );
    const page = await openPage(server.token, "dark");
    await page.locator("#conn[data-state=connected]").waitFor();
    await page.locator('.tab[data-view="runs"]').click();
    await page.fill("#start-form input[name=file]", file);
    await page.fill("#start-form input[name=cwd]", server.home);
    await page.fill("#start-form textarea[name=env]", Object.entries(fc.env).map(([k, v]) => `${k}=${v}`).join("\n"));
    await page.locator("#start-form button[type=submit]").click();

    const rows = page.locator("#run-detail tbody tr");
    await page.locator("#run-detail tbody tr.s-running").first().waitFor(); // live: a task shows as running
    await page.locator("#run-detail .title-row .badge").filter({ hasText: "completed" }).waitFor({ timeout: 30_000 });
    expect(await rows.count()).toBe(3);
    for (let i = 0; i < 3; i++) await rows.nth(i).locator(".badge", { hasText: "completed" }).waitFor();
    expect(await rows.nth(1).locator("td").last().textContent()).toBe("✓ verified");
    expect(await rows.nth(2).locator("td").last().textContent()).toBe("✓ verified");
    expect(await page.locator("#run-detail .run-summary").textContent()).toMatch(/3\/3 completed/);
    await shot(page, "task-run-timeline");
    expect(fc.calls()).toHaveLength(2);
    // The run's output: each task under its header, claude's stream as readable lines.
    await page.locator("#run-detail .actions button", { hasText: "Output" }).click();
    await expect.poll(() => page.locator(".output .line.meta.task").count()).toBe(3);
    await page.locator(".output .line").filter({ hasText: /^preparing$/ }).waitFor();
    await expect.poll(() => page.locator(".output .line.meta").filter({ hasText: "claude task completed · UUID verified" }).count()).toBe(2);
    await shot(page, "task-run-output");
    await page.context().close();
  });

  it("shows a run's budget live (spent and left), stops it as budget_exhausted, and resumes it from the page with a larger one", async () => {
    const fc = fakeClaude("success", { FAKE_CLAUDE_DELAY_MS: "150" }); // every run costs $0.0123
    // The page's Resume sends no environment (a run's env is not kept): fake-claude comes from the server's own.
    const saved = Object.fromEntries(Object.keys(fc.env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, fc.env);
    try {
      const file = join(server.home, "budget-tasks.md");
      writeFileSync(file, ["# Task List: Budgeted", "", "### Task 1: One", "Do one.", "", "### Task 2: Two", "Do two.", "", "### Task 3: Three", "Do three.", ""].join("\n"));
      const page = await openPage();
      await page.locator("#conn[data-state=connected]").waitFor();
      await page.locator('.tab[data-view="runs"]').click();
      await page.fill("#start-form input[name=file]", file);
      await page.fill("#start-form input[name=cwd]", server.home);
      await page.fill("#start-form input[name=max_cost]", "0.02");
      await page.locator("#start-form button[type=submit]").click();
      const summary = page.locator("#run-detail .run-summary");
      // live, while task 2 runs: what task 1 spent, and what is left
      await summary.filter({ hasText: "budget $0.0123 of $0.0200 spent · $0.0077 left" }).waitFor({ timeout: 30_000 });
      expect(await page.locator("#run-detail tbody tr.s-running").count()).toBeGreaterThan(0);
      await page.locator("#run-detail .title-row .badge").filter({ hasText: "budget_exhausted" }).waitFor({ timeout: 30_000 });
      await summary.filter({ hasText: "budget $0.0246 of $0.0200 spent · $0.0000 left" }).waitFor();
      expect(await page.locator("#run-detail tbody tr").nth(2).locator(".badge").textContent()).toBe("pending");
      await shot(page, "task-run-budget");
      await page.fill("#run-detail .actions input[name=max_cost]", "1");
      await page.locator("#run-detail .actions button", { hasText: "Resume" }).click();
      await page.locator("#run-detail .title-row .badge").filter({ hasText: "completed" }).waitFor({ timeout: 30_000 });
      await summary.filter({ hasText: "budget $0.0369 of $1.0000 spent · $0.9631 left" }).waitFor();
      expect(fc.calls()).toHaveLength(3);
      await page.context().close();
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  }, 120_000);

  it("resumes a stopped task list from the page", async () => {
    const marker = join(server.home, "resume-marker");
    const sleep = uniqueSleep();
    const client = await ExecutorClient.connect({ url: server.url, token: server.token });
    const pending = client.runTaskList({ tasks: [{ command: "echo first" }, { command: `test -f ${marker} && echo resumed || sleep ${sleep}` }, { command: "echo third" }] }, { cwd: server.home });
    await waitUntil(() => liveSleeps(sleep).length > 0, 10_000, "the sleep to start");
    await client.cancel();
    const summary = await pending;
    expect(summary).toMatchObject({ status: "canceled", completed: 1 });
    const tag = `history-check-${process.pid}`;
    expect((await client.execute(`echo ${tag}`)).status).toBe("completed");
    await client.close();
    writeFileSync(marker, "");

    const page = await openPage();
    await page.locator("#conn[data-state=connected]").waitFor();
    await page.locator('.tab[data-view="runs"]').click();
    await page.locator(`#run-list .item[data-run="${summary.run_id}"]`).click();
    await page.locator("#run-detail .title-row .badge").filter({ hasText: "canceled" }).waitFor();
    await page.locator("#run-detail .actions button", { hasText: "Resume" }).click();
    await page.locator("#run-detail .title-row .badge").filter({ hasText: "completed" }).waitFor();
    const rows = page.locator("#run-detail tbody tr");
    for (let i = 0; i < 3; i++) await rows.nth(i).locator(".badge", { hasText: "completed" }).waitFor();
    expect(liveSleeps(sleep)).toEqual([]);

    // History (the server has a store) and health.
    await page.locator('.tab[data-view="history"]').click();
    await page.locator("#history-body tr").first().waitFor();
    await page.selectOption("#history-filters select[name=status]", "completed");
    await page.fill("#history-filters input[name=q]", tag);
    await page.locator("#history-body tr").filter({ hasText: tag }).locator(".badge", { hasText: "completed" }).waitFor();
    await expect.poll(() => page.locator("#history-body tr").count(), { timeout: 10_000 }).toBe(1);
    await page.fill("#history-filters input[name=q]", "");
    await page.selectOption("#history-filters select[name=status]", "");
    await page.locator("#history-body tr").nth(1).waitFor();
    await shot(page, "history");
    await page.locator('.tab[data-view="server"]').click();
    await page.locator("#health-cards .stat").filter({ hasText: "sessions" }).waitFor();
    await shot(page, "server");
    await page.context().close();
  });

  // Layout facts measured in the page at a laptop's and a desktop's width (screenshots to look at in test-artifacts/dashboard/).
  for (const viewport of [
    { width: 1280, height: 800 },
    { width: 1920, height: 1080 },
  ]) {
    it(`History and Server at ${viewport.width} px: dates, the whole Run column, each card once, no raw JSON`, async () => {
      const client = await ExecutorClient.connect({ url: server.url, token: server.token });
      // A long command line: the table has to fit it beside a task-list run id.
      const run = await client.runTaskList({ tasks: [{ command: `echo layout-${viewport.width} ${"with-a-long-argument ".repeat(12).trim()}` }] }, { cwd: server.home });
      expect(run.status).toBe("completed");
      await client.close();
      const page = await openPage(server.token, "light", viewport);
      await page.locator("#conn[data-state=connected]").waitFor();

      await page.locator('.tab[data-view="history"]').click();
      await page.locator("#history-body tr").filter({ hasText: `layout-${viewport.width}` }).waitFor();
      await shot(page, `history-${viewport.width}`);
      // (measured in the page: the elements' types are the browser's)
      const history = await page.locator("#view-history").evaluate((view) => {
        const wrap = view.querySelector(".table-wrap");
        const edge = wrap.getBoundingClientRect().right;
        const rows = [...view.querySelectorAll("#history-body tr")];
        const runCells = rows.map((r) => r.cells[8]).filter((c) => c.textContent);
        return {
          dates: rows.map((r) => String(r.cells[0].textContent)),
          wrapScrolls: wrap.scrollWidth > wrap.clientWidth,
          // a Run cell is whole when its text fits it and the cell lies inside the visible table
          clippedRuns: runCells.filter((c) => c.scrollWidth > c.clientWidth || c.getBoundingClientRect().right > edge + 0.5).map((c) => String(c.textContent)),
          runCells: runCells.length,
          commandWidth: Number(rows[0].cells[2].getBoundingClientRect().width),
          // the width of 40 characters in the command column's font
          fortyChars: (() => {
            const probe = rows[0].cells[2].cloneNode();
            probe.textContent = "0".repeat(40);
            probe.style.cssText = "position: absolute; max-width: none; width: auto";
            rows[0].append(probe);
            const width = Number(probe.getBoundingClientRect().width);
            probe.remove();
            return width;
          })(),
          raw: rows.flatMap((r) => [...r.cells].map((c) => String(c.textContent).trim())).filter((t) => t.startsWith("{") || t.startsWith("[")),
        };
      });
      expect.soft(history.dates.length).toBeGreaterThan(0);
      expect.soft(history.dates.filter((d) => !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(d))).toEqual([]); // local date and time
      expect.soft(history.runCells).toBeGreaterThan(0);
      expect.soft(history.clippedRuns).toEqual([]);
      expect.soft(history.wrapScrolls).toBe(false);
      expect.soft(history.commandWidth).toBeGreaterThanOrEqual(history.fortyChars); // the command stays readable
      expect.soft(history.raw).toEqual([]);

      await page.locator('.tab[data-view="server"]').click();
      await page.locator("#health-cards .stat").filter({ hasText: "sessions" }).waitFor();
      await page.locator('.tab[data-view="server"]').click(); // shown again: replaced, not added to
      await shot(page, `server-${viewport.width}`, true);
      const health = await page.locator("#view-server").evaluate((view) => {
        const text = (el: { textContent: string | null }) => String(el.textContent).trim();
        const titles: string[] = [...view.querySelectorAll(".stat-label")].map(text);
        const labels: string[] = [...view.querySelectorAll(".stat-label, dt")].map((el) => text(el).toLowerCase());
        const store = [...view.querySelectorAll('[data-group="store"] .field')].map((f) => [text(f.querySelector("dt")), text(f.querySelector("dd"))]);
        const edge = view.getBoundingClientRect().right;
        return {
          titles,
          counts: titles.map((t) => labels.filter((l) => l === t.toLowerCase()).length),
          rawKeys: labels.filter((l) => ["active_sessions", "max_sessions", "active_processes", "max_processes", "uptime_seconds"].includes(l)),
          raw: [...view.querySelectorAll("dd, .stat-value")].map(text).filter((t) => t.startsWith("{") || t.startsWith("[")),
          store: Object.fromEntries(store) as Record<string, string>,
          clipped: [...view.querySelectorAll("dd, .stat-value, dt, .stat-label")].filter((el) => el.scrollWidth > el.clientWidth || el.getBoundingClientRect().right > edge + 0.5).map(text),
          viewScrolls: view.scrollWidth > view.clientWidth,
        };
      });
      expect.soft(health.titles).toEqual(["status", "version", "uptime", "sessions", "processes", "store"]);
      expect.soft(health.counts).toEqual(health.titles.map(() => 1));
      expect.soft(health.rawKeys).toEqual([]);
      expect.soft(health.raw).toEqual([]);
      expect.soft(health.store).toMatchObject({ backend: "sqlite", detail: expect.stringContaining(server.home) });
      expect.soft(health.clipped).toEqual([]);
      expect.soft(health.viewScrolls).toBe(false);
      await page.context().close();
    });
  }

  it("had no script errors and no CSP violations", () => {
    expect(problems).toEqual([]);
  });
});
