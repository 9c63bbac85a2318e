import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { Logger } from "../logger.js";
import type { ProcessSlots } from "../process/index.js";
import { ProgressReporter, type ProgressExtra } from "./progress.js";
import { ArgumentError, errorResult, UnavailableError } from "./tool-results.js";

/** What a tool handler is given by the SDK besides its arguments, as far as it is used here. */
export type RequestExtra = ProgressExtra & { signal: AbortSignal };

/** One admitted tool call, as its tool sees it. */
export interface ToolCall {
  /** Progress notifications of this call (sent only when the client asked for them); every answer waits until they are out. */
  readonly progress: ProgressReporter;
  /** Tracks the work the call started until `done`: `cancel` runs when the client cancels the call or the server shuts down. */
  track(cancel: () => void, done: Promise<unknown>): void;
}

/**
 * Process slots a call uses: "hold": it runs one process and holds a slot while it runs; "tasks":
 * its tasks take slots themselves, but it is refused when none is free; "none": it runs nothing.
 */
export type SlotUse = "hold" | "tasks" | "none";

/**
 * The tool calls of one server: refused during shutdown and when no process slot is free, their
 * work canceled with their request or all at once, answered with an error result when they throw.
 */
export class ToolCalls {
  private readonly works = new Map<number, { cancel: () => void; done: Promise<unknown> }>();
  private seq = 0;
  private closing = false;

  constructor(
    private readonly slots: ProcessSlots,
    private readonly logger: Logger,
  ) {}

  /** Tool calls whose work runs now. */
  get active(): number {
    return this.works.size;
  }

  /** Wraps a tool's handler: admission, process slots, error results. */
  handler<A>(name: string, run: (args: A, call: ToolCall) => Promise<CallToolResult>, slotUse: SlotUse = "none"): (args: A, extra: RequestExtra) => Promise<CallToolResult> {
    return async (args, extra) => {
      if (this.closing) return errorResult("the MCP server is shutting down");
      if (slotUse === "tasks" && this.slots.full) return errorResult(this.slotsFull());
      const release = slotUse === "hold" ? this.slots.tryTake() : undefined;
      if (slotUse === "hold" && !release) return errorResult(this.slotsFull());
      const call: ToolCall = { progress: new ProgressReporter(extra), track: (cancel, done) => this.track(extra.signal, cancel, done) };
      try {
        return await run(args, call);
      } catch (err) {
        if (err instanceof ArgumentError || err instanceof UnavailableError) return errorResult(err.message);
        this.logger.error({ err: (err as Error).message, tool: name }, "tool call failed");
        return errorResult(`${name} failed: ${(err as Error).message}`);
      } finally {
        // Whatever the answer, it goes out after the call's progress notifications (see settle()).
        await call.progress.settle();
        release?.();
      }
    };
  }

  /** From now on calls are refused, and work that starts is canceled at once. */
  shutDown(): void {
    this.closing = true;
  }

  /** Cancels the work of every running call and waits until it has ended, at most `boundMs`. */
  async cancelAll(boundMs: number): Promise<void> {
    const pending = [...this.works.values()];
    for (const w of pending) w.cancel();
    const bound = new Promise<void>((r) => setTimeout(r, boundMs).unref());
    await Promise.race([Promise.allSettled(pending.map((w) => w.done)), bound]);
  }

  private track(signal: AbortSignal, cancel: () => void, done: Promise<unknown>): void {
    const id = ++this.seq;
    const onAbort = () => {
      this.logger.info({ call: id }, "tool call canceled by the client; stopping its work");
      cancel();
    };
    this.works.set(id, { cancel, done });
    if (signal.aborted || this.closing) onAbort(); // closing: it started while the server shut down
    else signal.addEventListener("abort", onAbort, { once: true });
    void done.finally(() => {
      signal.removeEventListener("abort", onAbort);
      this.works.delete(id);
    });
  }

  private slotsFull(): string {
    return `too many processes running (${this.slots.inUse}; CC_EXECUTOR_MAX_PROCESSES=${this.slots.max})`;
  }
}
