import { join } from "node:path";
import { statePaths } from "../paths.js";

/**
 * What a run folder holds. Every execution (a command, a claude task, a task of a task list) has
 * one, `<home>/runs/<execution_id>/`; a task-list run has its own, `<home>/runs/<run_id>/`, with
 * its checkpoint and reports. docs/cli.md ("Run folders") documents the files.
 */
export const RunFiles = {
  /** The execution: what ran, where, when, and at its end how it ended (JSON, replaced whole). */
  execution: "execution.json",
  /** A command's stdout and stderr, interleaved in the order they were read (raw bytes). */
  output: "output.log",
  /** The older segment of a long output (see OutputLog). */
  outputPrevious: "output.log.1",
  /** A claude task: claude's stream-json, one JSON message a line, every attempt appended. */
  transcript: "transcript.jsonl",
  /** A claude task: the final result object. */
  result: "result.json",
  /** A resumable execution: the head of its replay file (replay-file.ts: later parts and the gap record beside it). */
  events: "events.jsonl",
  /** A task-list run: its checkpoint. */
  checkpoint: "checkpoint.json",
  /** A task-list run while it goes on: each task's start and end, appended (tasks/checkpoint.ts). */
  journal: "journal.jsonl",
} as const;

export function executionDir(home: string, executionId: string): string {
  if (!/^[\w.-]+$/.test(executionId) || executionId.startsWith(".")) throw new Error(`not an execution id: ${JSON.stringify(executionId)}`);
  return join(statePaths(home).runsDir, executionId);
}

export function executionFile(home: string, executionId: string, file: keyof typeof RunFiles): string {
  return join(executionDir(home, executionId), RunFiles[file]);
}
