import { AnsiParser, isPlain, styleSpan } from "./ansi.js";
import { h } from "./dom.js";

/** Lines kept in the page; older ones are dropped (the full output is a download away). */
export const MAX_LINES = 5000;
/** Output queued between two frames beyond this is cut to its end (a background tab gets no frames). */
const MAX_QUEUED_CHARS = 2_000_000;

type Item = { kind: "text"; data: string; stream: "stdout" | "stderr" } | { kind: "meta"; text: string; cls: string };

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001a\u001c-\u001f\u007f]/g;

/**
 * A terminal-like output pane: ANSI colours as spans, \r overwrites the line (progress bars),
 * DOM updates batched once per animation frame, at most MAX_LINES lines, auto-scroll that stops
 * while the user reads further up, and search (highlight, next/previous, matching lines only).
 */
export class OutputView {
  readonly root: HTMLElement;
  private readonly pane: HTMLElement;
  private readonly body: HTMLElement;
  private readonly hiddenNote: HTMLElement;
  private readonly followButton: HTMLButtonElement;
  private readonly searchInput: HTMLInputElement;
  private readonly searchCount: HTMLElement;
  private readonly parsers = { stdout: new AnsiParser(), stderr: new AnsiParser() };
  private readonly pendingCR = { stdout: false, stderr: false };
  private queue: Item[] = [];
  private queuedChars = 0;
  private scheduled = false;
  private openLine: HTMLElement | undefined;
  private lineCount = 0;
  private hidden = 0;
  private follow = true;
  private query = "";
  private matches = 0;
  private current: HTMLElement | undefined;

  constructor(options: { onDownload?: () => void } = {}) {
    this.searchInput = h("input", { type: "search", placeholder: "Search output", "aria-label": "Search output", className: "search" });
    this.searchCount = h("span", { className: "search-count muted" });
    const onlyMatches = h("input", { type: "checkbox", "aria-label": "Only matching lines" });
    this.followButton = h("button", { className: "follow", hidden: true, title: "Scroll to the newest output" }, "↓ Follow");
    const download = h("button", { className: "download", title: "Download the full output" }, "Download full output");
    if (options.onDownload) download.addEventListener("click", options.onDownload);
    else download.hidden = true;
    const prev = h("button", { title: "Previous match (Shift+Enter)", "aria-label": "Previous match" }, "↑");
    const next = h("button", { title: "Next match (Enter)", "aria-label": "Next match" }, "↓");
    this.hiddenNote = h("div", { className: "hidden-note", hidden: true });
    this.body = h("div", { className: "lines" });
    this.pane = h("div", { className: "output", tabIndex: 0, role: "log", "aria-live": "off" }, this.hiddenNote, this.body);
    const toolbar = h(
      "div",
      { className: "output-toolbar" },
      this.searchInput,
      prev,
      next,
      this.searchCount,
      h("label", { className: "only" }, onlyMatches, " matching lines only"),
      h("span", { className: "spacer" }),
      this.followButton,
      download,
    );
    this.root = h("div", { className: "output-view" }, toolbar, this.pane);

    this.pane.addEventListener("scroll", () => {
      const atBottom = this.pane.scrollTop + this.pane.clientHeight >= this.pane.scrollHeight - 8;
      if (atBottom !== this.follow) {
        this.follow = atBottom;
        this.followButton.hidden = atBottom;
      }
    });
    this.followButton.addEventListener("click", () => this.scrollToEnd());
    this.searchInput.addEventListener("input", () => this.setQuery(this.searchInput.value));
    this.searchInput.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        this.step(e.shiftKey ? -1 : 1);
      }
    });
    prev.addEventListener("click", () => this.step(-1));
    next.addEventListener("click", () => this.step(1));
    onlyMatches.addEventListener("change", () => this.pane.classList.toggle("only-matches", onlyMatches.checked));
  }

  append(data: string, stream: "stdout" | "stderr" = "stdout"): void {
    if (data === "") return;
    this.queue.push({ kind: "text", data, stream });
    this.queuedChars += data.length;
    if (this.queuedChars > MAX_QUEUED_CHARS) this.compactQueue();
    this.schedule();
  }

  /** A line of our own between the outputs (task headers, "exited with 3"). */
  meta(text: string, cls = "meta"): void {
    this.queue.push({ kind: "meta", text, cls });
    this.schedule();
  }

  clear(): void {
    this.queue = [];
    this.queuedChars = 0;
    this.body.replaceChildren();
    this.openLine = undefined;
    this.lineCount = 0;
    this.hidden = 0;
    this.matches = 0;
    this.current = undefined;
    this.parsers.stdout.reset();
    this.parsers.stderr.reset();
    this.pendingCR.stdout = this.pendingCR.stderr = false;
    this.hiddenNote.hidden = true;
    this.follow = true;
    this.followButton.hidden = true;
    this.updateCount();
  }

  get lines(): number {
    return this.lineCount;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => this.flush());
  }

  /** Keeps only the end of a huge backlog, cut at a line start; the dropped lines count as hidden. */
  private compactQueue(): void {
    const text = this.queue.map((i) => (i.kind === "text" ? i.data : `${i.text}\n`)).join("");
    let cut = text.length - MAX_QUEUED_CHARS / 2;
    const nl = text.indexOf("\n", cut);
    cut = nl >= 0 ? nl + 1 : cut;
    let dropped = 0;
    for (let i = text.indexOf("\n"); i >= 0 && i < cut; i = text.indexOf("\n", i + 1)) dropped++;
    this.hidden += dropped + this.lineCount;
    this.body.replaceChildren();
    this.openLine = undefined;
    this.lineCount = 0;
    this.matches = 0;
    this.current = undefined;
    this.parsers.stdout.reset();
    this.parsers.stderr.reset();
    this.queue = [{ kind: "text", data: text.slice(cut), stream: "stdout" }];
    this.queuedChars = text.length - cut;
  }

  /**
   * When one batch alone holds more than MAX_LINES lines, the lines before its last MAX_LINES would
   * be built only to be removed: skip them (their colours still go through the parser) and clear
   * the page, whose lines would all go too.
   */
  private skipBuried(items: Item[]): Item[] {
    let lines = 0;
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i]!;
      let cut = -1;
      if (item.kind === "meta") {
        if (++lines > MAX_LINES) cut = 0;
      } else {
        for (let at = item.data.lastIndexOf("\n"); at >= 0; at = at > 0 ? item.data.lastIndexOf("\n", at - 1) : -1) {
          if (++lines > MAX_LINES) {
            cut = at + 1;
            break;
          }
        }
      }
      if (cut < 0) continue;
      let buried = this.lineCount;
      for (const old of items.slice(0, i)) {
        if (old.kind === "meta") buried++;
        else {
          this.parsers[old.stream].push(old.data);
          buried += old.data.split("\n").length - 1;
        }
      }
      const rest = items.slice(i + 1);
      if (item.kind === "text") {
        const head = item.data.slice(0, cut);
        this.parsers[item.stream].push(head);
        buried += head.split("\n").length - 1;
        rest.unshift({ ...item, data: item.data.slice(cut) });
      } else buried++;
      this.pendingCR.stdout = this.pendingCR.stderr = false;
      this.body.replaceChildren();
      this.openLine = undefined;
      this.lineCount = 0;
      this.matches = 0;
      this.current = undefined;
      this.hidden += buried;
      return rest;
    }
    return items;
  }

  private flush(): void {
    this.scheduled = false;
    const items = this.skipBuried(this.queue);
    this.queue = [];
    this.queuedChars = 0;
    const fragment = document.createDocumentFragment();
    const newLines: HTMLElement[] = [];
    const newLine = (cls?: string) => {
      const line = h("div", { className: cls ? `line ${cls}` : "line" });
      fragment.append(line);
      newLines.push(line);
      this.lineCount++;
      return line;
    };
    for (const item of items) {
      if (item.kind === "meta") {
        this.openLine = undefined;
        newLine(item.cls).textContent = item.text;
        continue;
      }
      let raw = (this.pendingCR[item.stream] ? "\r" : "") + item.data;
      this.pendingCR[item.stream] = raw.endsWith("\r");
      if (this.pendingCR[item.stream]) raw = raw.slice(0, -1);
      raw = raw.replace(/\r\n/g, "\n");
      for (const seg of this.parsers[item.stream].push(raw)) {
        const pieces = seg.text.replace(CONTROL, "").split("\n");
        pieces.forEach((piece, i) => {
          if (i > 0) {
            if (!this.openLine) newLine();
            this.openLine = undefined;
          }
          const parts = piece.split("\r");
          parts.forEach((part, j) => {
            if (j > 0 && this.openLine) this.openLine.replaceChildren();
            if (part === "") return;
            this.openLine ??= newLine();
            if (isPlain(seg.style) && item.stream === "stdout") this.openLine.append(part);
            else {
              const span = h("span", { className: item.stream === "stderr" ? "err" : "" }, part);
              styleSpan(span, seg.style);
              this.openLine.append(span);
            }
          });
        });
      }
    }
    if (this.query) {
      const continued = this.body.lastElementChild as HTMLElement | null;
      if (continued) this.mark(continued);
      for (const line of newLines) this.mark(line);
    }
    const before = this.follow ? 0 : this.pane.scrollHeight;
    // Oldest lines go first: those in the page, then (a burst of more than MAX_LINES) new ones before they reach it.
    let excess = this.lineCount - MAX_LINES;
    if (excess > 0) {
      const inPage = this.lineCount - newLines.length;
      if (excess >= inPage) {
        this.body.replaceChildren();
        this.matches = 0;
        this.current = undefined;
        this.lineCount -= inPage;
        this.hidden += inPage;
        excess -= inPage;
        for (const line of newLines.splice(0, excess)) {
          line.remove();
          this.lineCount--;
          this.hidden++;
        }
        if (this.query) for (const line of newLines) this.matches += line.classList.contains("match") ? 1 : 0;
      } else {
        for (; excess > 0 && this.body.firstChild; excess--) {
          const gone = this.body.firstChild as HTMLElement;
          if (gone.classList.contains("match")) this.matches--;
          if (gone === this.current) this.current = undefined;
          gone.remove();
          this.lineCount--;
          this.hidden++;
        }
      }
    }
    if (before > 0) {
      // Keep what the reader looks at in place while old lines leave from the top.
      const removed = before - this.pane.scrollHeight;
      if (removed > 0) this.pane.scrollTop -= removed;
    }
    this.body.append(fragment);
    if (this.hidden > 0) {
      this.hiddenNote.hidden = false;
      this.hiddenNote.textContent = `${this.hidden.toLocaleString()} earlier line${this.hidden === 1 ? "" : "s"} not shown (the page keeps the last ${MAX_LINES.toLocaleString()}); download the full output to see everything.`;
    }
    if (this.query) this.updateCount();
    if (this.follow) this.pane.scrollTop = this.pane.scrollHeight;
  }

  scrollToEnd(): void {
    this.follow = true;
    this.followButton.hidden = true;
    this.pane.scrollTop = this.pane.scrollHeight;
  }

  private mark(line: HTMLElement): void {
    const hit = this.query !== "" && (line.textContent ?? "").toLowerCase().includes(this.query);
    if (hit !== line.classList.contains("match")) {
      line.classList.toggle("match", hit);
      this.matches += hit ? 1 : -1;
    }
  }

  private setQuery(value: string): void {
    this.query = value.trim().toLowerCase();
    this.matches = 0;
    this.current?.classList.remove("current");
    this.current = undefined;
    for (const line of this.body.children as HTMLCollectionOf<HTMLElement>) {
      line.classList.remove("match");
      if (this.query) this.mark(line);
    }
    this.pane.classList.toggle("searching", this.query !== "");
    this.updateCount();
  }

  private updateCount(): void {
    this.searchCount.textContent = this.query ? `${this.matches.toLocaleString()} match${this.matches === 1 ? "" : "es"}` : "";
  }

  /** Moves to the next (1) or previous (-1) matching line and stops following. */
  private step(direction: 1 | -1): void {
    const all = [...this.body.querySelectorAll<HTMLElement>(".line.match")];
    if (all.length === 0) return;
    let i = this.current ? all.indexOf(this.current) : -1;
    i = i < 0 ? (direction === 1 ? 0 : all.length - 1) : (i + direction + all.length) % all.length;
    this.current?.classList.remove("current");
    this.current = all[i]!;
    this.current.classList.add("current");
    this.follow = false;
    this.followButton.hidden = false;
    this.current.scrollIntoView({ block: "center" });
    this.searchCount.textContent = `${i + 1} / ${all.length}`;
  }
}
