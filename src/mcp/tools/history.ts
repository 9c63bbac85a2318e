import type { Store } from "../../store/index.js";
import type { ToolDefinition } from "../tool-calls.js";
import type { ToolContext } from "../tool-context.js";
import { errorResult, jsonResult } from "../tool-results.js";
import { HistoryArgs } from "../tool-schemas.js";

/** history: recent executions from the store the other tools (and the server and CLI on the same state directory) write to. */
export function historyTool(ctx: ToolContext): ToolDefinition<typeof HistoryArgs> {
  return {
    name: "history",
    title: "Recent executions",
    description:
      "Recent executions (commands, claude tasks, task-list tasks) from the history store, newest first: id, kind, label, status, times, exit code, tokens, cost, timeout and its basis, artifacts. " +
      "Lists what these tools ran (and the WebSocket server and CLI on the same state directory).",
    inputSchema: HistoryArgs,
    annotations: { readOnlyHint: true, openWorldHint: false },
    slots: "none",
    async run(a) {
      let store: Store;
      try {
        store = (await ctx.history.open()).store;
      } catch (err) {
        return errorResult(`Cannot open the store: ${(err as Error).message}`);
      }
      const executions = await store.listExecutions({ limit: a.limit ?? 20, status: a.status, kind: a.kind });
      const health = await store.health();
      return jsonResult({ backend: health.backend, store_status: health.status, count: executions.length, executions }, false);
    },
  };
}
