import type { Logger } from "../logger.js";
import { utf8BytesOf, type ProcessResult, type SupervisedProcess } from "../process/index.js";
import { currentWriter, writeExecutionFile, type ExecutionFile } from "./execution-file.js";
import { executionDir, executionFile } from "./layout.js";
import { DEFAULT_SEGMENT_BYTES, OutputLog } from "./output-log.js";

/** Where executions keep their output: the state directory's run folders. */
export interface RunFolders {
  home: string;
  /** Size of one output.log segment (MAX_BUFFER_SIZE): the last 1-2 segments are kept. */
  segmentBytes?: number;
  logger?: Logger;
}

/** The run folders of a configuration. */
export function runFoldersFrom(config: { home: string; maxBufferSize: number }, logger?: Logger): RunFolders {
  return { home: config.home, segmentBytes: config.maxBufferSize, logger };
}

export interface KeptExecution {
  executionId: string;
  /** The command or prompt as run. */
  text: string;
  cwd?: string;
  runId?: string;
  taskId?: string;
  taskIndex?: number;
}

const LABEL_CHARS = 200;

function startFile(kind: ExecutionFile["kind"], e: KeptExecution): ExecutionFile {
  const file: ExecutionFile = { version: 1, execution_id: e.executionId, kind, label: Array.from(e.text).slice(0, LABEL_CHARS).join(""), started_at: new Date().toISOString(), writer: currentWriter() };
  if (e.cwd) file.cwd = e.cwd;
  if (e.runId) Object.assign(file, { run_id: e.runId, task_id: e.taskId, task_index: e.taskIndex });
  return file;
}

/** Writes execution.json; a failure is logged once per execution and never stops the work. */
function writer(runs: RunFolders, executionId: string) {
  let warned = false;
  const warn = (err: Error) => {
    if (warned) return;
    warned = true;
    runs.logger?.warn({ executionId, err: err.message }, "cannot keep this execution's output in its run folder; it runs on without it");
  };
  return {
    warn,
    write(file: ExecutionFile) {
      try {
        writeExecutionFile(executionFile(runs.home, executionId, "execution"), file);
      } catch (err) {
        warn(err as Error);
      }
    },
  };
}

/**
 * Keeps a command's output in its run folder (output.log) and its start and end in
 * execution.json. Call it right after the spawn, before any output event can fire (same tick).
 * The folder is made and the start written right after the current turn of the event loop: after
 * `execute` has announced the process, before its first output can arrive.
 */
export function keepCommandOutput(runs: RunFolders | undefined, e: KeptExecution, proc: SupervisedProcess): void {
  if (!runs) return;
  const io = writer(runs, e.executionId);
  const file: ExecutionFile = { ...startFile("command", e), pid: proc.pid, started_at: new Date(proc.startedAt).toISOString() };
  let log: OutputLog | undefined;
  const open = (): OutputLog => {
    if (log) return log;
    io.write(file);
    return (log = new OutputLog(executionDir(runs.home, e.executionId), runs.segmentBytes ?? DEFAULT_SEGMENT_BYTES, io.warn));
  };
  setImmediate(open);
  // The chunk's bytes as they came (decoding them to text and back would cost more than the write).
  proc.on("output", (chunk) => open().write(utf8BytesOf(chunk) ?? chunk.data));
  // The end is written right after the turn that ends the execution: its terminal notification
  // goes first (these are synchronous file writes), and any request that follows it finds them done.
  void proc.done.then((r: ProcessResult) =>
    setImmediate(() => {
      const done = open();
      done.close();
      io.write({
        ...file,
        status: r.status,
        ended_at: new Date().toISOString(),
        duration_ms: r.durationMs,
        exit_code: r.exitCode,
        signal: r.signal,
        output_bytes: done.bytes,
        dropped_bytes: done.droppedBytes,
      });
    }),
  );
}

/** The end of a claude task as execution.json records it. */
export interface ClaudeEnd {
  success: boolean;
  error_type?: string;
  message?: string;
  duration_ms: number;
}

/**
 * Records a claude task's start and end in execution.json (claude itself writes transcript.jsonl
 * and result.json into the same folder). `result` never rejects in practice; if it does, the
 * record ends as failed.
 */
export function keepClaudeRecord(runs: RunFolders | undefined, e: KeptExecution, result: Promise<ClaudeEnd>): void {
  if (!runs) return;
  const io = writer(runs, e.executionId);
  const file = startFile("claude", e);
  io.write(file);
  const end = (fields: Partial<ExecutionFile>) => io.write({ ...file, ended_at: new Date().toISOString(), ...fields });
  result.then(
    (r) => {
      const status = r.success ? "completed" : r.error_type === "timeout" ? "timeout" : r.error_type === "canceled" ? "canceled" : "failed";
      end({ status, duration_ms: r.duration_ms, ...(r.success ? {} : { error_type: r.error_type, message: r.message }) });
    },
    (err: Error) => end({ status: "failed", duration_ms: Date.now() - Date.parse(file.started_at), error_type: "internal", message: err.message }),
  );
}
