import type { McpServer, ToolCallback } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult, ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import type { z } from "zod";
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
  /**
   * Hands over the work the call started: `cancel` runs when the client cancels the call or the
   * server shuts down, at once when that happened while the work was still being started.
   */
  onCancel(cancel: () => void): void;
}

/**
 * Process slots a call uses: "hold": it runs one process and holds a slot while it runs; "tasks":
 * its tasks take slots themselves, but it is refused when none is free; "none": it runs nothing.
 */
export type SlotUse = "hold" | "tasks" | "none";

/** A tool: what clients are shown of it, and what runs a call. */
export interface ToolDefinition<S extends z.ZodType> {
  name: string;
  title: string;
  /** What the model reads to decide when and how to call it. */
  description: string;
  /** Strict: a misspelt argument is an error naming it. */
  inputSchema: S;
  annotations: ToolAnnotations;
  slots: SlotUse;
  run(args: z.output<S>, call: ToolCall): Promise<CallToolResult>;
}

interface Admitted {
  stop(why: string): void;
  answered: Promise<void>;
}

/**
 * The tool calls of one server, from admission to answer: refused during shutdown and when no
 * process slot is free, canceled with their request or all at once, answered with an error result
 * when they throw. A call counts from its admission, not from the start of its process: a
 * shutdown that begins while a call still runs its pre hooks (or estimates its timeout) waits for
 * it, and the work it then starts is canceled at once, before the registry and the store close.
 */
export class ToolCalls {
  private readonly admitted = new Map<number, Admitted>();
  private seq = 0;
  private closing = false;

  constructor(
    private readonly slots: ProcessSlots,
    private readonly logger: Logger,
  ) {}

  /** Calls admitted and not yet answered. */
  get active(): number {
    return this.admitted.size;
  }

  /** Registers a tool whose calls go through here. */
  register<S extends z.ZodType>(server: McpServer, tool: ToolDefinition<S>): void {
    const { name, slots, run, ...shown } = tool;
    // The SDK types the callback by a conditional on the schema, which a generic schema cannot satisfy.
    server.registerTool(name, shown, this.handler(name, run, slots) as unknown as ToolCallback<S>);
  }

  /** Wraps a tool's handler: admission, process slots, cancellation, progress settling, error results. */
  private handler<A>(name: string, run: (args: A, call: ToolCall) => Promise<CallToolResult>, slotUse: SlotUse = "none"): (args: A, extra: RequestExtra) => Promise<CallToolResult> {
    return async (args, extra) => {
      if (this.closing) return errorResult("the MCP server is shutting down");
      if (slotUse === "tasks" && this.slots.full) return errorResult(this.slotsFull());
      const release = slotUse === "hold" ? this.slots.tryTake() : undefined;
      if (slotUse === "hold" && !release) return errorResult(this.slotsFull());
      const { call, answered } = this.admit(extra);
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
        answered();
      }
    };
  }

  /** From now on calls are refused (those admitted go on until cancelAll stops them). */
  shutDown(): void {
    this.closing = true;
  }

  /** Cancels every admitted call and waits until they have answered, at most `boundMs`. */
  async cancelAll(boundMs: number): Promise<void> {
    const calls = [...this.admitted.values()];
    for (const c of calls) c.stop(this.closing ? "canceled: the server shuts down" : "canceled with every running call");
    const bound = new Promise<void>((r) => setTimeout(r, boundMs).unref());
    await Promise.race([Promise.all(calls.map((c) => c.answered)), bound]);
  }

  private admit(extra: RequestExtra): { call: ToolCall; answered: () => void } {
    const id = ++this.seq;
    let stopped = false;
    let cancelWork: (() => void) | undefined;
    const stop = (why: string) => {
      if (stopped) return;
      stopped = true;
      this.logger.info({ call: id }, `tool call ${why}; stopping its work`);
      cancelWork?.();
    };
    const onAbort = () => stop("canceled by the client");
    let resolveAnswered!: () => void;
    this.admitted.set(id, { stop, answered: new Promise<void>((r) => (resolveAnswered = r)) });
    if (extra.signal.aborted) onAbort();
    else extra.signal.addEventListener("abort", onAbort, { once: true });
    const call: ToolCall = {
      progress: new ProgressReporter(extra),
      onCancel(cancel) {
        cancelWork = cancel;
        if (stopped) cancel();
      },
    };
    const answered = () => {
      extra.signal.removeEventListener("abort", onAbort);
      this.admitted.delete(id);
      resolveAnswered();
    };
    return { call, answered };
  }

  private slotsFull(): string {
    return `too many processes running (${this.slots.inUse}; CC_EXECUTOR_MAX_PROCESSES=${this.slots.max})`;
  }
}
