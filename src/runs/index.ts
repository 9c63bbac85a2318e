/** Run folders: what each execution keeps in the state directory (output, transcript, record, replay file), and reading it back. */
export { ReplayWriter, readReplay, readGap, hasReplay, HEAD_FILE, GAP_FILE } from "./replay-file.js";
export type { ReplayItem, ReplayGap, ReplayWriterOptions } from "./replay-file.js";
export { RunFiles, executionDir, executionFile } from "./layout.js";
export { readExecutionFile, writerAlive, type ExecutionFile, type KeptKind, type Writer } from "./execution-file.js";
export { OutputLog, DEFAULT_SEGMENT_BYTES } from "./output-log.js";
export { keepCommandOutput, keepClaudeRecord, runFoldersFrom, type RunFolders, type KeptExecution, type ClaudeEnd } from "./keep.js";
export { findRunFolder, followExecution, readCommandOutput, executionEnded, FileTail, RunFolderNotFoundError, type RunFolderTarget, type FollowOptions } from "./read.js";
export { claimRunFolder, usedBy, scanRunFolders, planRunsPrune, removeRunFolders, pruneRuns, runsUsage, CLAIM_FILE, RECENT_WRITE_MS } from "./folders.js";
export type { RunFolder, RunsLimits, RunsPrunePlan, RunsPruneReport, RunsUsage } from "./folders.js";
