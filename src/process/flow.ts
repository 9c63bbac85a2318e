import type { SupervisedProcess } from "./supervisor.js";

/**
 * Backpressure from whoever receives a process's output (e.g. a WebSocket that backs up): while it
 * is congested the process's pipes are not read, so the process blocks on write instead of the
 * server buffering without bound.
 */
export interface OutputFlow {
  readonly isCongested: boolean;
  on(event: "drain", listener: () => void): unknown;
  off(event: "drain", listener: () => void): unknown;
}

/** Pauses reading `proc` whenever `flow` is congested after an output event; resumes on drain. */
export function applyFlow(proc: SupervisedProcess, flow: OutputFlow | undefined): void {
  if (!flow) return;
  const onDrain = () => proc.resumeOutput();
  flow.on("drain", onDrain);
  proc.on("output", () => {
    if (flow.isCongested) proc.pauseOutput();
  });
  void proc.done.finally(() => flow.off("drain", onDrain));
}
